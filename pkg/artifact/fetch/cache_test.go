package fetch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestEvictionIsLeastRecentlyUsed(t *testing.T) {
	g := NewWithT(t)
	srv := newServer(t)
	f, cacheDir := newFetcher(t, WithMaxEntries(2))

	arts := map[string]artifact{}
	urls := map[string]string{}
	for _, name := range []string{"a", "b", "c", "d"} {
		arts[name] = makeArtifact(t, map[string]string{name + ".yaml": name})
		urls[name] = srv.publish("/"+name+".tar.gz", arts[name].body)
	}
	fetch := func(name string) string {
		dir, err := f.Fetch(context.Background(), urls[name], arts[name].digest)
		g.Expect(err).NotTo(HaveOccurred())
		return dir
	}
	cached := func() []string {
		var names []string
		for _, e := range cacheEntries(t, cacheDir) {
			for name, a := range arts {
				if e == strings.TrimPrefix(a.digest, "sha256:") {
					names = append(names, name)
				}
			}
		}
		return names
	}

	fetch("a")
	fetch("b")
	fetch("a") // a is now more recent than b
	g.Expect(srv.requests.Load()).To(BeEquivalentTo(2))
	fetch("c")
	g.Expect(cached()).To(ConsistOf("a", "c"))
	fetch("d")
	g.Expect(cached()).To(ConsistOf("c", "d"))
	g.Expect(cacheEntries(t, cacheDir)).To(HaveLen(2), "evicted trees are deleted")

	// An evicted entry is downloaded again.
	before := srv.requests.Load()
	fetch("a")
	g.Expect(srv.requests.Load()).To(Equal(before + 1))
}

func TestEvictionNeverRemovesTheEntryJustReturned(t *testing.T) {
	g := NewWithT(t)
	srv := newServer(t)
	f, cacheDir := newFetcher(t, WithMaxEntries(1))
	for i := range 3 {
		a := makeArtifact(t, map[string]string{"f": fmt.Sprint(i)})
		dir, err := f.Fetch(context.Background(), srv.publish(fmt.Sprintf("/%d.tar.gz", i), a.body), a.digest)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(os.ReadFile(filepath.Join(dir, "f"))).To(BeEquivalentTo(fmt.Sprint(i)))
		g.Expect(cacheEntries(t, cacheDir)).To(Equal([]string{filepath.Base(dir)}))
	}
}

func TestNewAdoptsCacheAndRemovesLeftovers(t *testing.T) {
	g := NewWithT(t)
	srv := newServer(t)
	f, cacheDir := newFetcher(t, WithMaxEntries(3))
	var dirs []string
	for i := range 3 {
		a := makeArtifact(t, map[string]string{"f": fmt.Sprint(i)})
		dir, err := f.Fetch(context.Background(), srv.publish(fmt.Sprintf("/%d.tar.gz", i), a.body), a.digest)
		g.Expect(err).NotTo(HaveOccurred())
		dirs = append(dirs, dir)
	}
	leftover := filepath.Join(cacheDir, tempPrefix+"12345")
	g.Expect(os.MkdirAll(filepath.Join(leftover, "half"), 0o755)).To(Succeed())

	// A smaller cache keeps the most recently used entries.
	_, err := New(cacheDir, WithMaxEntries(2))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(leftover).NotTo(BeADirectory())
	names := cacheEntries(t, cacheDir)
	g.Expect(names).To(HaveLen(2))
	g.Expect(names).NotTo(ContainElement(filepath.Base(dirs[0])))
}

func TestLookupForgetsEntriesRemovedFromDisk(t *testing.T) {
	g := NewWithT(t)
	srv := newServer(t)
	a := makeArtifact(t, map[string]string{"a": "a"})
	url := srv.publish("/a.tar.gz", a.body)
	f, _ := newFetcher(t)

	dir, err := f.Fetch(context.Background(), url, a.digest)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.RemoveAll(dir)).To(Succeed())
	dir, err = f.Fetch(context.Background(), url, a.digest)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(filepath.Join(dir, "a")).To(BeAnExistingFile())
	g.Expect(srv.requests.Load()).To(BeEquivalentTo(2))
}

func TestFetchFile(t *testing.T) {
	g := NewWithT(t)
	srv := newServer(t)
	chart := []byte("not really a chart, but bytes are bytes")
	digest := digestOf(chart)
	url := srv.publish("/helmchart/default/podinfo/podinfo-6.5.0.tgz", chart)
	f, cacheDir := newFetcher(t)

	p, err := f.FetchFile(context.Background(), url, digest)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(filepath.Base(p)).To(Equal("podinfo-6.5.0.tgz"))
	g.Expect(filepath.Dir(filepath.Dir(p))).To(Equal(cacheDir))
	g.Expect(os.ReadFile(p)).To(Equal(chart))

	again, err := f.FetchFile(context.Background(), srv.URL+"/renamed.tgz", digest)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(Equal(p))
	g.Expect(srv.requests.Load()).To(BeEquivalentTo(1))

	_, err = f.FetchFile(context.Background(), url, digestOf([]byte("other")))
	g.Expect(IsDigestMismatch(err)).To(BeTrue())

	_, err = f.FetchFile(context.Background(), srv.URL+"/missing.tgz", digestOf([]byte("missing")))
	g.Expect(IsNotFound(err)).To(BeTrue())
}

func TestFileName(t *testing.T) {
	tests := map[string]string{
		"http://h/helmchart/ns/c/c-1.0.0.tgz": "c-1.0.0.tgz",
		"http://h/index.yaml?x=1":             "index.yaml",
		"http://h/":                           "artifact",
		"http://h":                            "artifact",
		"http://h/a/..":                       "artifact",
		"http://h/%2e%2e":                     "artifact",
		"::bad":                               "artifact",
	}
	for url, want := range tests {
		t.Run(url, func(t *testing.T) {
			NewWithT(t).Expect(fileName(url)).To(Equal(want))
		})
	}
}
