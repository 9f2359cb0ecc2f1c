package objects

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// PrintTable writes summaries as `ferry get` shows them: one row per
// object with NAMESPACE (when wide across namespaces), KIND/NAME, READY,
// REVISION, SUSPENDED, AGE and the Ready message; a Rollout's message
// starts with its phase, strategy, step, weight and ready pods, the
// columns of `kubectl argo rollouts list rollouts`.
func PrintTable(w io.Writer, items []Summary, withNamespace bool, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	header := []string{"KIND/NAME", "READY", "REVISION", "SUSPENDED", "AGE", "MESSAGE"}
	if withNamespace {
		header = append([]string{"NAMESPACE"}, header...)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, s := range items {
		row := []string{s.Ref(), s.Ready, s.Revision, fmt.Sprint(s.Suspended), Age(s.Created, now), oneLine(s.Text())}
		if withNamespace {
			row = append([]string{s.Namespace}, row...)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// Text is the message column: the Ready message, after a Rollout's phase,
// strategy, step, weight and ready pods.
func (s Summary) Text() string {
	if s.Rollout == nil {
		return s.Message
	}
	return strings.TrimSuffix(s.Rollout.String()+": "+s.Message, ": ")
}

// oneLine keeps a multi-line condition message on its row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
