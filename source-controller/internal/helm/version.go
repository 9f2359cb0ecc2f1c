package helm

import (
	"fmt"
	"time"

	"github.com/Masterminds/semver/v3"
)

// NotFoundError says a chart, or a version of it matching a constraint, is
// not in a repository.
type NotFoundError struct {
	Chart   string
	Version string
}

func (e *NotFoundError) Error() string {
	if e.Version == "" {
		return fmt.Sprintf("no chart named '%s' in the repository", e.Chart)
	}
	return fmt.Sprintf("no '%s' chart with version matching '%s' found", e.Chart, e.Version)
}

// candidate is a version on offer, from an index entry or a registry tag.
type candidate struct {
	version string
	created time.Time
	ref     any
}

// selectVersion picks a chart version as Flux does: an exact version wins;
// otherwise the highest version satisfying the semver constraint ("" and "*"
// mean any stable version), with the newest created time breaking ties
// between versions that differ only in build metadata.
func selectVersion(chart, constraint string, candidates []candidate) (candidate, error) {
	if constraint == "" {
		constraint = "*"
	}
	for _, c := range candidates {
		if c.version == constraint {
			return c, nil
		}
	}
	cons, err := semver.NewConstraint(constraint)
	if err != nil {
		return candidate{}, fmt.Errorf("invalid version constraint '%s': %w", constraint, err)
	}
	var best *semver.Version
	var pick candidate
	for _, c := range candidates {
		v, err := semver.NewVersion(c.version)
		if err != nil || !cons.Check(v) {
			continue
		}
		switch {
		case best == nil, v.GreaterThan(best):
		case v.Equal(best) && c.created.After(pick.created):
		default:
			continue
		}
		best, pick = v, c
	}
	if best == nil {
		return candidate{}, &NotFoundError{Chart: chart, Version: constraint}
	}
	return pick, nil
}

// SelectVersion picks from plain version strings (registry tags) with the
// same rules as Index.Get.
func SelectVersion(chart, constraint string, versions []string) (string, error) {
	candidates := make([]candidate, 0, len(versions))
	for _, v := range versions {
		candidates = append(candidates, candidate{version: v})
	}
	c, err := selectVersion(chart, constraint, candidates)
	if err != nil {
		return "", err
	}
	return c.version, nil
}
