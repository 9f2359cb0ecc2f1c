// Package harness runs Ferry's controllers as real processes against a local
// cluster, each authenticating as its own ServiceAccount with exactly the RBAC
// from config/rbac, so a missing permission shows up as a failure. The e2e
// suite, `make dev` and `make bench` share it.
package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/ferrycd/ferry/test/cluster"
)

// Namespace is where the controllers' ServiceAccounts live, as in
// config/default.
const Namespace = "ferry-system"

// Controllers are the four controller binaries, by module directory.
var Controllers = []string{"source-controller", "kustomize-controller", "helm-controller", "notification-controller"}

// Build compiles the named controllers into dir and returns dir.
func Build(dir string, names ...string) error {
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	for _, name := range names {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), ".")
		cmd.Dir = filepath.Join(root, name)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %w\n%s", name, err, out)
		}
	}
	return nil
}

// InstallRBAC applies config/rbac/<name> for each controller into Namespace.
func InstallRBAC(c *cluster.Cluster, names ...string) error {
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	ns := fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", Namespace)
	if _, err := c.Kubectl([]byte(ns), "apply", "-f", "-"); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := c.Kubectl(nil, "apply", "-n", Namespace, "-k", filepath.Join(root, "config", "rbac", name)); err != nil {
			return err
		}
	}
	return nil
}

// ServiceAccountKubeconfig writes a kubeconfig to path that authenticates as
// the ServiceAccount Namespace/name with a token from the TokenRequest API.
func ServiceAccountKubeconfig(ctx context.Context, c *cluster.Cluster, name, path string) error {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	tr, err := cs.CoreV1().ServiceAccounts(Namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](24 * 3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("requesting a token for %s: %w", name, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{
		Server:                   c.Config.Host,
		CertificateAuthorityData: c.Config.CAData,
	}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["default"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: name, Namespace: Namespace}
	cfg.CurrentContext = "default"
	return clientcmd.WriteToFile(*cfg, path)
}

// Process is a controller running as a child process.
type Process struct {
	Name string
	// HealthAddr is where /healthz and /readyz answer.
	HealthAddr string
	// MetricsAddr is where /metrics answers.
	MetricsAddr string
	// LogPath holds the process's output.
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// Start runs binDir/name with its own ServiceAccount's kubeconfig, free
// loopback ports for health and metrics, and extra args.
func Start(ctx context.Context, c *cluster.Cluster, binDir, workDir, name string, args ...string) (*Process, error) {
	kubeconfig := filepath.Join(workDir, name+".kubeconfig")
	if err := ServiceAccountKubeconfig(ctx, c, name, kubeconfig); err != nil {
		return nil, err
	}
	p := &Process{Name: name, HealthAddr: FreeAddr(), MetricsAddr: FreeAddr(),
		LogPath: filepath.Join(workDir, name+".log"), done: make(chan struct{})}
	logFile, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	all := append([]string{
		"--kubeconfig=" + kubeconfig,
		"--health-addr=" + p.HealthAddr,
		"--metrics-addr=" + p.MetricsAddr,
		"--log-encoding=console",
	}, args...)
	p.cmd = exec.Command(filepath.Join(binDir, name), all...)
	p.cmd.Env = append(os.Environ(), "RUNTIME_NAMESPACE="+Namespace)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { _ = p.cmd.Wait(); _ = logFile.Close(); close(p.done) }()
	return p, nil
}

// WaitReady waits until /readyz answers 200 or the process exits.
func (p *Process) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited; see %s", p.Name, p.LogPath)
		default:
		}
		resp, err := http.Get("http://" + p.HealthAddr + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s; see %s", p.Name, timeout, p.LogPath)
}

// Stop interrupts the process and waits for it to exit; Kill is used when it
// does not exit in time.
func (p *Process) Stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// Kill ends the process at once, as a crash would.
func (p *Process) Kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// PeakRSS returns the process's peak resident set size in bytes, read from
// /proc (VmHWM), or 0 when it cannot be read.
func (p *Process) PeakRSS() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// CPUTime returns the user plus system CPU time the process has used so
// far, read from /proc, or 0 when it cannot be read.
func (p *Process) CPUTime() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the line, in clock ticks (100 per second).
	s := string(data)
	fields := strings.Fields(s[strings.LastIndex(s, ")")+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100)
}
