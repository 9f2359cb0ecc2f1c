package rollouts

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Icons of the plugin's status column, plain Unicode so a terminal
// without colour shows them too.
var phaseIcons = map[string]string{
	"Healthy":     "✔",
	"Progressing": "◌",
	"Paused":      "॥",
	"Degraded":    "✖",
}

var stepMarks = map[string]string{StepDone: "✔", StepCurrent: "►", StepPending: " "}

// Status is PhaseText with the phase's icon, as the plugin's Status line
// reads.
func (in Info) Status() string {
	return strings.TrimSpace(phaseIcons[in.Phase] + " " + in.PhaseText())
}

// PhaseText is the phase plus "(aborted)" or "(paused)" when a person
// did that.
func (in Info) PhaseText() string {
	switch {
	case in.Aborted:
		return in.Phase + " (aborted)"
	case in.Paused:
		return in.Phase + " (paused)"
	}
	return in.Phase
}

// Print writes the rollout as `kubectl argo rollouts get rollout` lays it
// out, then its steps, ReplicaSets and AnalysisRuns; age prints how old an
// object created at a time is (objects.Age, which this package cannot
// import: objects summarizes Rollouts with it).
func Print(w io.Writer, in Info, age func(time.Time) string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	line("Name:", in.Name)
	line("Namespace:", in.Namespace)
	line("Status:", in.Status())
	if in.Message != "" {
		line("Message:", in.Message)
	}
	if len(in.PauseReasons) > 0 {
		line("Paused by:", strings.Join(in.PauseReasons, ", "))
	}
	line("Strategy:", in.Strategy)
	if in.Strategy == StrategyCanary {
		step := in.Step
		if step == "" {
			step = "-"
		}
		line("  Step:", step)
		line("  SetWeight:", weight(in.SetWeight))
		line("  ActualWeight:", weight(in.ActualWeight))
	}
	for i, img := range in.Images {
		k := ""
		if i == 0 {
			k = "Images:"
		}
		v := img.Image
		if len(img.Roles) > 0 {
			v += " (" + strings.Join(img.Roles, ", ") + ")"
		}
		line(k, v)
	}
	fmt.Fprintln(tw, "Replicas:\t")
	line("  Desired:", in.Desired)
	line("  Current:", in.Current)
	line("  Updated:", in.Updated)
	line("  Ready:", in.Ready)
	line("  Available:", in.Available)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(in.Steps) > 0 {
		fmt.Fprintln(w, "\nSteps:")
		for _, s := range in.Steps {
			fmt.Fprintf(w, "  %s %d  %s\n", stepMarks[s.State], s.Index, s.Text)
		}
	}
	if len(in.ReplicaSets) > 0 {
		fmt.Fprintln(w, "\nReplicaSets:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  REVISION\tNAME\tROLE\tSTATUS\tDESIRED\tCURRENT\tREADY\tAVAILABLE\tAGE\tIMAGES")
		for _, rs := range in.ReplicaSets {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", rs.Revision, rs.Name, dash(strings.Join(rs.Roles, ",")),
				rs.Status, rs.Desired, rs.Current, rs.Ready, rs.Available, age(rs.Created), strings.Join(rs.Images, ","))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(in.AnalysisRuns) > 0 {
		fmt.Fprintln(w, "\nAnalysisRuns:")
		for _, ar := range in.AnalysisRuns {
			head := fmt.Sprintf("  %s %s  %s", phaseIcon(ar.Phase), ar.Name, ar.Phase)
			if ar.Purpose != "" {
				head += "  (" + ar.Purpose + ")"
			}
			if ar.Current {
				head += "  current"
			}
			head += "  " + age(ar.Created)
			fmt.Fprintln(w, head)
			if ar.Message != "" {
				fmt.Fprintf(w, "      %s\n", ar.Message)
			}
			for _, m := range ar.Metrics {
				fmt.Fprintf(w, "      metric %s: %s, %s", m.Name, m.Phase, m.Counts())
				if m.LastValue != "" {
					fmt.Fprintf(w, ", last value %s", m.LastValue)
				}
				fmt.Fprintln(w)
				if m.Message != "" {
					fmt.Fprintf(w, "        %s\n", m.Message)
				}
			}
		}
	}
	for _, n := range in.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
	return nil
}

// Counts says how many measurements the metric took and how they ended.
func (m MetricInfo) Counts() string {
	s := fmt.Sprintf("%d measured, %d successful, %d failed", m.Count, m.Successful, m.Failed)
	if m.Inconclusive > 0 {
		s += fmt.Sprintf(", %d inconclusive", m.Inconclusive)
	}
	if m.Error > 0 {
		s += fmt.Sprintf(", %d errors", m.Error)
	}
	return s
}

func phaseIcon(phase string) string {
	switch phase {
	case "Successful":
		return "✔"
	case "Failed", "Error":
		return "✖"
	case "Inconclusive":
		return "?"
	}
	return "◌"
}

func weight(w *int32) string {
	if w == nil {
		return "-"
	}
	return fmt.Sprint(*w)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
