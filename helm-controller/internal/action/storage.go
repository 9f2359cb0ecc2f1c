package action

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// keyPrefix starts the name of every Helm 3 release record.
const keyPrefix = "sh.helm.release.v1."

// memoStorage is a Helm storage driver that LISTs a release's records
// once and answers later reads of that release from what it read and
// wrote since.
//
// One install asks storage for the release's history four or five times
// (is the name free, the last release before and after the action, the
// deployed one), and each ask was a LIST of Secrets by label on the API
// server, one after another on the release's critical path. A
// configuration, and so its memo, lives for one reconcile of one
// HelmRelease, and a HelmRelease is reconciled by one worker at a time,
// so between its reads nobody but this reconcile writes the release's
// records: the memo stays exact. Caching every release Secret in an
// informer instead would hold every release of the cluster, charts
// included, in memory.
//
// Reads return copies, as the Secrets driver decodes a fresh release on
// every read: Helm changes the releases it reads (a superseded status)
// before it writes them back. A failed write forgets the release, so the
// next read asks the API server.
type memoStorage struct {
	driver.Driver
	mu sync.Mutex
	// releases holds the records of each release read, by key; a release
	// absent from the map was not read yet.
	releases map[string]map[string]record
	// none, when set, says a release is known to have no records, so
	// reading it needs no LIST (ReleaseIndex).
	none func(name string) bool
}

// record is a release as JSON and the labels of its Secret, which the
// JSON leaves out and Helm writes back on an update.
type record struct {
	data   []byte
	labels map[string]string
}

func newMemoStorage(d driver.Driver) *memoStorage {
	return &memoStorage{Driver: d, releases: map[string]map[string]record{}}
}

// Query answers {name, owner: helm} queries, narrowed by status and
// version, from the memo; any other query goes to the driver.
func (m *memoStorage) Query(labels map[string]string) ([]*helmrelease.Release, error) {
	name := labels["name"]
	if name == "" || labels["owner"] != "helm" {
		return m.Driver.Query(labels)
	}
	for k := range labels {
		if k != "name" && k != "owner" && k != "status" && k != "version" {
			return m.Driver.Query(labels)
		}
	}
	records, err := m.load(name)
	if err != nil {
		return nil, err
	}
	var out []*helmrelease.Release
	for _, rec := range records {
		rls, err := rec.decode()
		if err != nil {
			return nil, err
		}
		if s, ok := labels["status"]; ok && (rls.Info == nil || rls.Info.Status.String() != s) {
			continue
		}
		if v, ok := labels["version"]; ok && strconv.Itoa(rls.Version) != v {
			continue
		}
		out = append(out, rls)
	}
	if len(out) == 0 {
		return nil, driver.ErrReleaseNotFound
	}
	return out, nil
}

// Get answers from the memo when the release was read.
func (m *memoStorage) Get(key string) (*helmrelease.Release, error) {
	name, ok := releaseName(key)
	m.mu.Lock()
	records, loaded := m.releases[name]
	rec, found := records[key]
	m.mu.Unlock()
	if !ok || !loaded {
		return m.Driver.Get(key)
	}
	if !found {
		return nil, driver.ErrReleaseNotFound
	}
	return rec.decode()
}

// Create writes through and remembers the record.
func (m *memoStorage) Create(key string, rls *helmrelease.Release) error {
	err := m.Driver.Create(key, rls)
	m.wrote(key, rls, map[string]string{"createdAt": strconv.FormatInt(time.Now().Unix(), 10)}, err)
	return err
}

// Update writes through and remembers the record.
func (m *memoStorage) Update(key string, rls *helmrelease.Release) error {
	err := m.Driver.Update(key, rls)
	m.wrote(key, rls, map[string]string{"modifiedAt": strconv.FormatInt(time.Now().Unix(), 10)}, err)
	return err
}

// Delete writes through and forgets the record.
func (m *memoStorage) Delete(key string) (*helmrelease.Release, error) {
	rls, err := m.Driver.Delete(key)
	if name, ok := releaseName(key); ok {
		m.mu.Lock()
		if err != nil {
			delete(m.releases, name)
		} else if records := m.releases[name]; records != nil {
			delete(records, key)
		}
		m.mu.Unlock()
	}
	return rls, err
}

// load returns the records of release name, listing them on first use.
func (m *memoStorage) load(name string) (map[string]record, error) {
	m.mu.Lock()
	records, ok := m.releases[name]
	m.mu.Unlock()
	if ok {
		return records, nil
	}
	if m.none != nil && m.none(name) {
		records = map[string]record{}
		m.mu.Lock()
		m.releases[name] = records
		m.mu.Unlock()
		return records, nil
	}
	rels, err := m.Driver.Query(map[string]string{"name": name, "owner": "helm"})
	if err != nil && err != driver.ErrReleaseNotFound {
		return nil, err
	}
	records = map[string]record{}
	for _, rls := range rels {
		rec, err := newRecord(rls, nil)
		if err != nil {
			return nil, err
		}
		records[keyPrefix+rls.Name+".v"+strconv.Itoa(rls.Version)] = rec
	}
	m.mu.Lock()
	m.releases[name] = records
	m.mu.Unlock()
	return records, nil
}

// wrote records a write of rls under key with the driver's extra labels,
// or forgets the release when the write failed and what storage holds is
// unknown.
func (m *memoStorage) wrote(key string, rls *helmrelease.Release, extra map[string]string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	records, ok := m.releases[rls.Name]
	if !ok {
		return
	}
	rec, rerr := newRecord(rls, extra)
	if err != nil || rerr != nil {
		delete(m.releases, rls.Name)
		return
	}
	records[key] = rec
}

func newRecord(rls *helmrelease.Release, extra map[string]string) (record, error) {
	data, err := json.Marshal(rls)
	if err != nil {
		return record{}, err
	}
	labels := map[string]string{}
	for k, v := range rls.Labels {
		labels[k] = v
	}
	for k, v := range extra {
		labels[k] = v
	}
	return record{data: data, labels: labels}, nil
}

// releaseName parses "sh.helm.release.v1.<name>.v<version>".
func releaseName(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, keyPrefix)
	i := strings.LastIndex(rest, ".v")
	if !ok || i <= 0 {
		return "", false
	}
	return rest[:i], true
}

func (r record) decode() (*helmrelease.Release, error) {
	rls := &helmrelease.Release{}
	if err := json.Unmarshal(r.data, rls); err != nil {
		return nil, err
	}
	rls.Labels = make(map[string]string, len(r.labels))
	for k, v := range r.labels {
		rls.Labels[k] = v
	}
	return rls, nil
}
