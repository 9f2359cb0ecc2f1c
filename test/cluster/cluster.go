// Package cluster starts and stops a real local Kubernetes control plane for
// Ferry's tests and `make dev`: a kube-apiserver and etcd (envtest-style,
// starts in seconds) and, in full mode, kube-controller-manager,
// kube-scheduler and kwok with one fake node, so Namespaces finalize, garbage
// collection runs and Deployments become Available.
package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Mode selects which control plane components run.
type Mode int

const (
	// Fast runs only etcd and kube-apiserver.
	Fast Mode = iota
	// Full adds kube-controller-manager, kube-scheduler and a kwok node.
	Full
)

// Options configure a cluster.
type Options struct {
	Mode Mode
	// CRDDirs are installed before Start returns; defaults to the
	// repository's config/crd/bases.
	CRDDirs []string
	// ExtraCRDs are CRD files or directories installed along with CRDDirs
	// (or the default), such as the Gateway API's from GatewayAPICRDs.
	ExtraCRDs []string
	// Scheme for the returned client; defaults to client-go's scheme.
	Scheme *runtime.Scheme
}

// Cluster is a running local control plane.
type Cluster struct {
	// Config authenticates as a cluster admin.
	Config *rest.Config
	// Client is a controller-runtime client built from Config.
	Client client.Client
	// KubeconfigPath is an admin kubeconfig file for kubectl and processes.
	KubeconfigPath string
	// BinDir holds the control plane binaries and kubectl.
	BinDir string
	// Dir is a scratch directory removed by Stop; logs of extra components
	// are kept there.
	Dir string

	env   *envtest.Environment
	procs []*exec.Cmd
	// apiserver is the kube-apiserver StartAPIServer started after an
	// outage, and apiserverArgs the command line it runs; both are nil until
	// StopAPIServer.
	apiserver     *exec.Cmd
	apiserverArgs []string
}

// Start starts a cluster in the given mode and waits until it serves.
func Start(opts Options) (*Cluster, error) {
	binDir, err := BinDir()
	if err != nil {
		return nil, err
	}
	if opts.CRDDirs == nil {
		root, err := RepoRoot()
		if err != nil {
			return nil, err
		}
		opts.CRDDirs = []string{filepath.Join(root, "config", "crd", "bases")}
	}
	dir, err := os.MkdirTemp("", "ferry-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{BinDir: binDir, Dir: dir}
	c.env = &envtest.Environment{
		BinaryAssetsDirectory: binDir,
		CRDDirectoryPaths:     append(append([]string{}, opts.CRDDirs...), opts.ExtraCRDs...),
		ErrorIfCRDPathMissing: true,
		Scheme:                opts.Scheme,
	}
	if c.Config, err = c.env.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", binDir, err)
	}
	if err := c.init(opts); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) init(opts Options) error {
	c.KubeconfigPath = filepath.Join(c.Dir, "kubeconfig")
	if err := os.WriteFile(c.KubeconfigPath, c.env.KubeConfig, 0o600); err != nil {
		return err
	}
	var err error
	if c.Client, err = client.New(c.Config, client.Options{Scheme: c.env.Scheme}); err != nil {
		return err
	}
	if opts.Mode == Full {
		return c.startFull()
	}
	return nil
}

// startFull starts the components that make workloads run and namespaces
// finalize, plus one kwok-managed node for pods to land on.
func (c *Cluster) startFull() error {
	kc := c.KubeconfigPath
	if err := c.spawn("kube-controller-manager",
		"--kubeconfig="+kc, "--authentication-kubeconfig="+kc, "--authorization-kubeconfig="+kc,
		"--controllers=*", "--use-service-account-credentials=false", "--leader-elect=false",
		"--secure-port=0", "--concurrent-deployment-syncs=10", "--concurrent-namespace-syncs=10",
	); err != nil {
		return err
	}
	if err := c.spawn("kube-scheduler",
		"--kubeconfig="+kc, "--authentication-kubeconfig="+kc, "--authorization-kubeconfig="+kc,
		"--leader-elect=false", "--secure-port=0",
	); err != nil {
		return err
	}
	stages, err := filepath.Glob(filepath.Join(c.BinDir, "kwok-stages", "*.yaml"))
	if err != nil || len(stages) == 0 {
		return fmt.Errorf("no kwok stage files in %s/kwok-stages: rebuild with make cluster-bins", c.BinDir)
	}
	args := []string{"--kubeconfig=" + kc, "--manage-all-nodes=true", "--server-address=",
		"--node-lease-duration-seconds=40"}
	for _, s := range stages {
		args = append(args, "--config="+s)
	}
	if err := c.spawn("kwok", args...); err != nil {
		return err
	}
	return c.Client.Create(context.Background(), fakeNode())
}

func fakeNode() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "kwok-node-0",
			Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": "kwok-node-0"},
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("32"),
				corev1.ResourceMemory: resource.MustParse("256Gi"),
				corev1.ResourcePods:   resource.MustParse("500"),
			},
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("32"),
				corev1.ResourceMemory: resource.MustParse("256Gi"),
				corev1.ResourcePods:   resource.MustParse("500"),
			},
		},
	}
}

// spawn starts a component from BinDir with its output in Dir/<name>.log.
func (c *Cluster) spawn(name string, args ...string) error {
	logFile, err := os.Create(filepath.Join(c.Dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(c.BinDir, name), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	c.procs = append(c.procs, cmd)
	return nil
}

// Stop stops every component and removes the scratch directory.
func (c *Cluster) Stop() error {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = p.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
	c.procs = nil
	if c.apiserver != nil {
		_ = stopCmd(c.apiserver)
		c.apiserver = nil
	}
	err := c.env.Stop()
	_ = os.RemoveAll(c.Dir)
	return err
}

// Kubectl runs the cluster's kubectl against it as admin and returns its
// standard output; a failure's error carries kubectl's standard error.
func (c *Cluster) Kubectl(stdin []byte, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.BinDir, "kubectl"), append([]string{"--kubeconfig=" + c.KubeconfigPath}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

// LogTails returns the last lines of each extra component's log, for a
// failing test to print.
func (c *Cluster) LogTails(lines int) string {
	var b strings.Builder
	logs, _ := filepath.Glob(filepath.Join(c.Dir, "*.log"))
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(all) > lines {
			all = all[len(all)-lines:]
		}
		fmt.Fprintf(&b, "==> %s <==\n%s\n", filepath.Base(l), strings.Join(all, "\n"))
	}
	return b.String()
}
