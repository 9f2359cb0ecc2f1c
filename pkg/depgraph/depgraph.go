// Package depgraph finds cycles in the dependsOn graph of Kustomizations and
// HelmReleases, which may depend on each other across kinds. Flux waits
// forever on a cycle (each object reports its dependency as not ready);
// Ferry stalls the objects on it with a message naming the whole cycle, so
// the user sees what to break.
package depgraph

import (
	"context"
	"fmt"
	"strings"
)

// Node is one object in the graph.
type Node struct {
	Kind      string
	Namespace string
	Name      string
}

func (n Node) String() string { return n.Kind + "/" + n.Namespace + "/" + n.Name }

// DependsOn returns the nodes a node depends on. A node that does not exist
// returns no dependencies (it cannot close a cycle).
type DependsOn func(ctx context.Context, n Node) ([]Node, error)

// maxNodes bounds the walk, so a huge or hostile graph costs a bounded
// number of reads per reconcile.
const maxNodes = 1000

// Cycle returns the cycle through start, as the path start -> ... -> start,
// or nil when start is on no cycle. Cycles elsewhere in the graph that start
// only reaches are not start's to report: their own members report them.
func Cycle(ctx context.Context, start Node, deps DependsOn) ([]Node, error) {
	// Depth-first search keeping the current path; a dependency equal to
	// start closes a cycle through it.
	visited := map[Node]bool{}
	var path []Node
	var walk func(n Node) ([]Node, error)
	walk = func(n Node) ([]Node, error) {
		if len(visited) >= maxNodes {
			return nil, fmt.Errorf("dependency graph of %s has more than %d objects", start, maxNodes)
		}
		visited[n] = true
		path = append(path, n)
		defer func() { path = path[:len(path)-1] }()
		next, err := deps(ctx, n)
		if err != nil {
			return nil, err
		}
		for _, d := range next {
			if d == start {
				return append(append([]Node{}, path...), start), nil
			}
			if visited[d] {
				continue
			}
			if c, err := walk(d); c != nil || err != nil {
				return c, err
			}
		}
		return nil, nil
	}
	return walk(start)
}

// Format writes a cycle as "A -> B -> A" for a condition message.
func Format(cycle []Node) string {
	parts := make([]string, len(cycle))
	for i, n := range cycle {
		parts[i] = n.String()
	}
	return strings.Join(parts, " -> ")
}
