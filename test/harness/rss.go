package harness

import (
	"fmt"
	"os"
)

// ResetPeakRSS sets the process's peak resident set size (VmHWM, which
// PeakRSS reads) back to its current RSS, so that the peak of one case of a
// test run can be told from the peaks of the cases before it. It writes "5"
// to /proc/<pid>/clear_refs, which Linux offers for this since 4.0.
func (p *Process) ResetPeakRSS() error {
	path := fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid)
	if err := os.WriteFile(path, []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the peak RSS of %s: %w", p.Name, err)
	}
	return nil
}
