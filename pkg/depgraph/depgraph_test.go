package depgraph

import (
	"context"
	"errors"
	"testing"
)

func ks(name string) Node { return Node{Kind: "Kustomization", Namespace: "apps", Name: name} }
func hr(name string) Node { return Node{Kind: "HelmRelease", Namespace: "apps", Name: name} }

func graph(edges map[Node][]Node) DependsOn {
	return func(_ context.Context, n Node) ([]Node, error) { return edges[n], nil }
}

func TestCycle(t *testing.T) {
	tests := []struct {
		name  string
		edges map[Node][]Node
		start Node
		want  string
	}{
		{"no dependencies", nil, ks("a"), ""},
		{"chain", map[Node][]Node{ks("a"): {hr("b")}, hr("b"): {ks("c")}}, ks("a"), ""},
		{"self", map[Node][]Node{ks("a"): {ks("a")}}, ks("a"), "Kustomization/apps/a -> Kustomization/apps/a"},
		{"across kinds", map[Node][]Node{ks("a"): {hr("b")}, hr("b"): {ks("c")}, ks("c"): {ks("a")}}, ks("a"),
			"Kustomization/apps/a -> HelmRelease/apps/b -> Kustomization/apps/c -> Kustomization/apps/a"},
		{"diamond without a cycle", map[Node][]Node{ks("a"): {ks("b"), ks("c")}, ks("b"): {ks("d")}, ks("c"): {ks("d")}}, ks("a"), ""},
		{"a cycle start only reaches is not its own", map[Node][]Node{ks("a"): {ks("b")}, ks("b"): {ks("c")}, ks("c"): {ks("b")}}, ks("a"), ""},
		{"same name, other kind is another node", map[Node][]Node{ks("a"): {hr("a")}}, ks("a"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Cycle(context.Background(), tt.start, graph(tt.edges))
			if err != nil {
				t.Fatal(err)
			}
			if got := Format(c); got != tt.want {
				t.Fatalf("cycle = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCycleBounded(t *testing.T) {
	// An endless chain of distinct nodes: the walk stops with an error.
	deps := func(_ context.Context, n Node) ([]Node, error) {
		return []Node{{Kind: "Kustomization", Namespace: "x", Name: n.Name + "x"}}, nil
	}
	if _, err := Cycle(context.Background(), ks(""), deps); err == nil {
		t.Fatal("an unbounded graph was walked without error")
	}
	boom := errors.New("boom")
	failing := func(context.Context, Node) ([]Node, error) { return nil, boom }
	if _, err := Cycle(context.Background(), ks("a"), failing); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}
