package helm

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"
)

func TestIndexCacheLoadsOncePerDigest(t *testing.T) {
	g := NewWithT(t)
	c := NewIndexCache(2)
	var reads atomic.Int32
	gate := make(chan struct{})
	read := func() (*Index, error) {
		reads.Add(1)
		<-gate
		return &Index{APIVersion: "v1"}, nil
	}
	const n = 16
	got := make([]*Index, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			idx, err := c.Load("sha256:a", read)
			if err == nil {
				got[i] = idx
			}
		})
	}
	// Every caller is either the one reading or waiting on it.
	g.Eventually(func() int32 { return reads.Load() }).Should(Equal(int32(1)))
	close(gate)
	wg.Wait()
	g.Expect(reads.Load()).To(Equal(int32(1)))
	for _, idx := range got {
		g.Expect(idx).To(BeIdenticalTo(got[0]))
	}
	idx, ok := c.Get("sha256:a")
	g.Expect(ok).To(BeTrue())
	g.Expect(idx).To(BeIdenticalTo(got[0]))
}

func TestIndexCacheLoadFailureIsNotRemembered(t *testing.T) {
	g := NewWithT(t)
	c := NewIndexCache(2)
	_, err := c.Load("sha256:a", func() (*Index, error) { return nil, errors.New("unreadable") })
	g.Expect(err).To(MatchError("unreadable"))
	idx, err := c.Load("sha256:a", func() (*Index, error) { return &Index{APIVersion: "v1"}, nil })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(idx.APIVersion).To(Equal("v1"))

	var none *IndexCache
	idx, err = none.Load("sha256:a", func() (*Index, error) { return &Index{APIVersion: "v2"}, nil })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(idx.APIVersion).To(Equal("v2"))
}
