package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
)

// StopAPIServer stops the kube-apiserver as an outage would, leaving etcd
// running and the certificates and service-account keys in place, so that
// StartAPIServer brings it back on the same etcd, address and credentials:
// the tokens and kubeconfigs handed out before the outage keep working.
//
// envtest cannot do this itself: its Stop removes the certificate directory
// and a restart would mint a new CA. So the first stop finds envtest's
// process by its certificate directory, keeps its command line, and ends it
// with SIGTERM; later restarts run that command line as a child of Cluster.
func (c *Cluster) StopAPIServer() error {
	if c.apiserver != nil {
		err := stopCmd(c.apiserver)
		c.apiserver = nil
		return err
	}
	if c.apiserverArgs != nil {
		return fmt.Errorf("the kube-apiserver is already stopped")
	}
	api := c.env.ControlPlane.APIServer
	pid, args, err := findProcess(api.Path, "--cert-dir="+api.CertDir)
	if err != nil {
		return err
	}
	c.apiserverArgs = args
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return err
	}
	// envtest's own goroutine waits for its child, so the pid goes away
	// once it has exited. A loaded API server may hold its graceful
	// shutdown open for in-flight watches well past the outage a test
	// wants; after 10 s it is killed, which is an outage all the same.
	if !waitGone(pid, 10*time.Second) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		if !waitGone(pid, 10*time.Second) {
			return fmt.Errorf("the kube-apiserver (pid %d) did not exit after SIGKILL", pid)
		}
	}
	return nil
}

// waitGone waits up to timeout for process pid to go away.
func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// StartAPIServer starts the kube-apiserver StopAPIServer stopped, with the
// same command line, and waits until it is ready. Its output goes to
// Dir/kube-apiserver.log.
func (c *Cluster) StartAPIServer() error {
	if c.apiserverArgs == nil || c.apiserver != nil {
		return fmt.Errorf("the kube-apiserver is not stopped")
	}
	logFile, err := os.OpenFile(filepath.Join(c.Dir, "kube-apiserver.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.env.ControlPlane.APIServer.Path, c.apiserverArgs[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("restarting the kube-apiserver: %w", err)
	}
	c.apiserver = cmd
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		cancel()
		if err == nil && string(body) == "ok" {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the restarted kube-apiserver is not ready after a minute; see %s", logFile.Name())
}

// findProcess returns the pid and command line of the process running
// binary with an argument equal to arg.
func findProcess(binary, arg string) (int, []string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
		if filepath.Base(args[0]) != filepath.Base(binary) {
			continue
		}
		for _, a := range args[1:] {
			if a == arg {
				return pid, args, nil
			}
		}
	}
	return 0, nil, fmt.Errorf("no %s process with %s", filepath.Base(binary), arg)
}

// stopCmd interrupts cmd and waits for it, killing it after 10 seconds
// (see StopAPIServer).
func stopCmd(cmd *exec.Cmd) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return nil
}
