package action

import (
	"testing"

	. "github.com/onsi/gomega"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// countingDriver counts the queries that reach the driver underneath.
type countingDriver struct {
	driver.Driver
	queries int
}

func (c *countingDriver) Query(labels map[string]string) ([]*helmrelease.Release, error) {
	c.queries++
	return c.Driver.Query(labels)
}

func rel(name string, version int, status helmrelease.Status) *helmrelease.Release {
	return &helmrelease.Release{Name: name, Version: version, Namespace: "default",
		Info: &helmrelease.Info{Status: status}}
}

// TestMemoStorage checks that an install's reads of storage cost one query
// of the driver, that reads see the memo's own writes, and that what they
// return are copies.
func TestMemoStorage(t *testing.T) {
	g := NewWithT(t)
	under := &countingDriver{Driver: driver.NewMemory()}
	g.Expect(under.Driver.Create("sh.helm.release.v1.other.v1", rel("other", 1, helmrelease.StatusDeployed))).To(Succeed())
	s := storage.Init(newMemoStorage(under))

	_, err := s.History("app")
	g.Expect(err).To(MatchError(driver.ErrReleaseNotFound))
	g.Expect(s.Create(rel("app", 1, helmrelease.StatusPendingInstall))).To(Succeed())
	first, err := s.Get("app", 1)
	g.Expect(err).NotTo(HaveOccurred())
	first.Info.Status = helmrelease.StatusDeployed
	g.Expect(s.Update(first)).To(Succeed())
	// What the memo answers is what storage holds.
	stored, err := under.Driver.Get("sh.helm.release.v1.app.v1")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stored.Info.Status).To(Equal(helmrelease.StatusDeployed))
	// A change after the write is not stored (the memory driver keeps the
	// pointer, the memo a copy).
	first.Info.Status = helmrelease.StatusFailed

	deployed, err := s.Deployed("app")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(deployed.Version).To(Equal(1))
	g.Expect(deployed.Info.Status).To(Equal(helmrelease.StatusDeployed))
	last, err := s.Last("app")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(last.Info.Status).To(Equal(helmrelease.StatusDeployed))
	g.Expect(under.queries).To(Equal(1), "one query of the driver for all reads of release app")

	// Another release is read from the driver once too.
	h, err := s.History("other")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(h).To(HaveLen(1))
	_, err = s.Deployed("other")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(under.queries).To(Equal(2))

	// A deleted record is gone from the memo.
	_, err = s.Delete("app", 1)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = s.History("app")
	g.Expect(err).To(MatchError(driver.ErrReleaseNotFound))
	g.Expect(under.queries).To(Equal(2))
}
