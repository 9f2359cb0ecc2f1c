// Package hygiene proves that no secret a controller handles comes out of
// it: all four controllers run as processes (debug logging, events posted
// to the notification-controller) with git credentials, SOPS age keys,
// decrypted and substituted Secrets, Helm values from a Secret and
// notification provider and receiver tokens, each also in a failing form (a
// wrong password, a wrong key, malformed values, a wrong token), and then
// every event, every Flux object, every log line, every /metrics page and
// every notification payload is scanned for the secret values (package
// scan).
package hygiene

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"log"
	"os"
	"testing"

	"github.com/fluxcd/pkg/gittestserver"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/harness"
)

// gitUser is the test git server's user; its password is a secret.
const gitUser = "ferry-bot"

var (
	env         *harness.Suite
	testCluster *cluster.Cluster
	gitSrv      *gitserver.Server
	// gitPassword is the one the git server accepts.
	gitPassword = secretValue("git-password")
)

// secretValue is a fresh random value named for what it is, so a leak
// report reads well and no two runs share a value.
func secretValue(what string) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return what + "-" + hex.EncodeToString(b)
}

func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	// Debug logging: the most a controller ever writes about its work.
	debug := map[string][]string{}
	for _, name := range harness.Controllers {
		debug[name] = []string{"--log-level=debug"}
	}
	os.Exit(harness.Main(m, scheme, harness.Controllers, debug, func(s *harness.Suite) (func(), error) {
		env, testCluster = s, s.Cluster
		// The git server asks every request for basic auth; its HTTP
		// layer's request log is noise here.
		log.SetOutput(io.Discard)
		gs, err := gittestserver.NewTempGitServer()
		if err != nil {
			return nil, err
		}
		gs.Auth(gitUser, gitPassword)
		if err := gs.StartHTTP(); err != nil {
			return nil, err
		}
		gitSrv = &gitserver.Server{GitServer: gs}
		return gitSrv.Close, nil
	}))
}
