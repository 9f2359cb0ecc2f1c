package cmd

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func init() { Register(newVersion) }

// Version is set at build time with -ldflags "-X .../cmd.Version=v1.2.3";
// without it the module's build info is used.
var Version = ""

func newVersion(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the ferry version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			v := Version
			if v == "" {
				v = "(devel)"
				if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
					v = bi.Main.Version
				}
			}
			_, err := fmt.Fprintln(g.IO.Out, "ferry", v)
			return err
		},
	}
}
