package gitrepository

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// newPGPKey returns a signing key and its armored public key ring.
func newPGPKey(t *testing.T, name string) (*openpgp.Entity, string) {
	t.Helper()
	g := NewWithT(t)
	e, err := openpgp.NewEntity(name, "", "signer@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	g.Expect(err).NotTo(HaveOccurred())
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.Serialize(w)).To(Succeed())
	g.Expect(w.Close()).To(Succeed())
	return e, buf.String()
}

// setKeys creates or replaces the verification Secret's data.
func setKeys(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	g := NewWithT(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(secret), secret)
	secret.Data = nil
	secret.StringData = data
	if err == nil {
		g.Expect(env.Client.Update(context.Background(), secret)).To(Succeed())
		return
	}
	g.Expect(env.Client.Create(context.Background(), secret)).To(Succeed())
}

// updateSpec applies mutate to the latest copy of obj and updates it,
// retrying on conflicts with the controller's own status patches.
func updateSpec(t *testing.T, obj *sourcev1.GitRepository, mutate func(*sourcev1.GitRepository)) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		cur := &sourcev1.GitRepository{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), cur); err != nil {
			return err
		}
		mutate(cur)
		return env.Client.Update(context.Background(), cur)
	}, timeout, 50*time.Millisecond).Should(Succeed())
}

// waitVerification waits until Ready and SourceVerified both have status.
func waitVerification(t *testing.T, obj *sourcev1.GitRepository, status metav1.ConditionStatus) *sourcev1.GitRepository {
	t.Helper()
	got := waitFor(t, obj, status, "")
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(conditions.IsReady(got)).To(Equal(status == metav1.ConditionTrue))
		v := conditions.Get(got, sourcev1.SourceVerifiedCondition)
		g.Expect(v).NotTo(BeNil())
		g.Expect(v.Status).To(Equal(status), v.Message)
	}, timeout, 50*time.Millisecond).Should(Succeed())
	return got
}

// TestVerificationChangesAreEnforcedWithoutNewCommit proves that turning
// verification on, replacing the trusted keys and making the mode stricter
// are each enforced on the next reconcile although the remote commit never
// changes; before, an unchanged remote skipped verification altogether once
// it had passed.
func TestVerificationChangesAreEnforcedWithoutNewCommit(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	trusted, trustedPub := newPGPKey(t, "Trusted Signer")
	_, otherPub := newPGPKey(t, "Someone Else")
	repo := ns + "/app.git"
	head, err := gitSrv.CommitSigned(repo, "main", "signed", map[string]string{"a.yaml": "a"}, trusted)
	g.Expect(err).NotTo(HaveOccurred())
	revision := "main@sha1:" + head

	obj := newGitRepository(ns, "app", gitSrv.URL(repo))
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	got := waitFor(t, obj, metav1.ConditionTrue, revision)
	stored := got.Status.Artifact.DeepCopy()

	t.Log("verification turned on with a wrong key fails at once")
	setKeys(t, ns, "keys", map[string]string{"other.asc": otherPub})
	updateSpec(t, got, func(o *sourcev1.GitRepository) {
		o.Spec.Verification = &sourcev1.GitRepositoryVerification{
			Mode: sourcev1.ModeGitHEAD, SecretRef: fluxmeta.LocalObjectReference{Name: "keys"},
		}
	})
	got = waitVerification(t, got, metav1.ConditionFalse)
	g.Expect(conditions.GetMessage(got, fluxmeta.ReadyCondition)).To(ContainSubstring("not made by a trusted key"))
	g.Expect(got.Status.Artifact.Revision).To(Equal(revision), "the previous artifact stays")

	t.Log("the right key makes it Ready again")
	setKeys(t, ns, "keys", map[string]string{"trusted.asc": trustedPub})
	requestReconcile(t, got)
	got = waitVerification(t, got, metav1.ConditionTrue)
	g.Expect(got.Status.SourceVerificationMode).To(HaveValue(Equal(sourcev1.ModeGitHEAD)))
	g.Expect(got.Status.ObservedVerificationKeysDigest).To(HavePrefix("sha256:"))
	g.Expect(got.Status.Artifact.Digest).To(Equal(stored.Digest), "the same commit archives to the same digest")

	t.Log("a Secret whose trusted key was replaced fails without a new commit")
	setKeys(t, ns, "keys", map[string]string{"trusted.asc": otherPub})
	requestReconcile(t, got)
	got = waitVerification(t, got, metav1.ConditionFalse)
	g.Expect(conditions.GetMessage(got, sourcev1.SourceVerifiedCondition)).To(ContainSubstring("not made by a trusted key"))

	setKeys(t, ns, "keys", map[string]string{"trusted.asc": trustedPub})
	requestReconcile(t, got)
	got = waitVerification(t, got, metav1.ConditionTrue)

	t.Log("a stricter mode is enforced without a new commit")
	updateSpec(t, got, func(o *sourcev1.GitRepository) { o.Spec.Verification.Mode = sourcev1.ModeGitTagAndHEAD })
	got = waitVerification(t, got, metav1.ConditionFalse)
	g.Expect(conditions.GetMessage(got, sourcev1.SourceVerifiedCondition)).To(ContainSubstring("does not name a tag"))
	g.Expect(got.Status.Artifact.Revision).To(Equal(revision))
}

// TestUnchangedVerifiedRemoteIsNotClonedAgain keeps the shortcut: when the
// commit, the mode and the keys are all unchanged, a reconcile neither clones
// nor verifies again.
func TestUnchangedVerifiedRemoteIsNotClonedAgain(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	trusted, trustedPub := newPGPKey(t, "Trusted Signer")
	repo := ns + "/app.git"
	head, err := gitSrv.CommitSigned(repo, "main", "signed", map[string]string{"a.yaml": "a"}, trusted)
	g.Expect(err).NotTo(HaveOccurred())
	setKeys(t, ns, "keys", map[string]string{"trusted.asc": trustedPub, "notes": "ignored"})
	obj := newGitRepository(ns, "app", gitSrv.URL(repo), func(o *sourcev1.GitRepository) {
		o.Spec.Verification = &sourcev1.GitRepositoryVerification{SecretRef: fluxmeta.LocalObjectReference{Name: "keys"}}
	})
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	got := waitFor(t, obj, metav1.ConditionTrue, "main@sha1:"+head)
	g.Expect(conditions.IsTrue(got, sourcev1.SourceVerifiedCondition)).To(BeTrue())
	uploads := gitSrv.Uploads(repo)

	setKeys(t, ns, "keys", map[string]string{"trusted.asc": trustedPub, "notes": "edited, still not a key"})
	token := requestReconcile(t, got)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.LastHandledReconcileAt).To(Equal(token))
	}, timeout, 50*time.Millisecond).Should(Succeed())
	g.Expect(conditions.IsReady(got)).To(BeTrue())
	g.Expect(gitSrv.Uploads(repo)).To(Equal(uploads), "unchanged commit, mode and keys were cloned again")
}

// TestVerifiedAsSpecified is the decision behind the unchanged-remote
// shortcut: a stored artifact needs no new signature check only when the
// last check passed with the mode and keys the spec names now.
func TestVerifiedAsSpecified(t *testing.T) {
	head, tag := sourcev1.ModeGitHEAD, sourcev1.ModeGitTag
	verified := func(mode *sourcev1.GitVerificationMode, digest string) *sourcev1.GitRepository {
		obj := &sourcev1.GitRepository{}
		obj.Spec.Verification = &sourcev1.GitRepositoryVerification{Mode: sourcev1.ModeGitHEADLegacy}
		obj.Status.SourceVerificationMode = mode
		obj.Status.ObservedVerificationKeysDigest = digest
		conditions.MarkTrue(obj, sourcev1.SourceVerifiedCondition, fluxmeta.SucceededReason, "ok")
		return obj
	}
	tests := []struct {
		name string
		obj  *sourcev1.GitRepository
		keys string
		want bool
	}{
		{"verification off", &sourcev1.GitRepository{}, "", true},
		{"same mode and keys", verified(&head, "sha256:a"), "sha256:a", true},
		{"keys changed", verified(&head, "sha256:a"), "sha256:b", false},
		{"mode changed", verified(&tag, "sha256:a"), "sha256:a", false},
		{"never recorded", verified(nil, ""), "sha256:a", false},
		{"last check failed", func() *sourcev1.GitRepository {
			obj := verified(&head, "sha256:a")
			conditions.MarkFalse(obj, sourcev1.SourceVerifiedCondition, sourcev1.VerificationErrorReason, "bad")
			return obj
		}(), "sha256:a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(verifiedAsSpecified(tt.obj, tt.keys)).To(Equal(tt.want))
		})
	}
}
