package ui

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferrycd/ferry/cli/internal/objects"
	"github.com/ferrycd/ferry/cli/internal/tree"
)

// treeView is the inventory of a Kustomization or HelmRelease as the page
// draws it: one line per object, indented by depth, with its kstatus
// health; the Kustomizations and HelmReleases in it link to their pages.
type treeView struct {
	Nodes []treeNode
	Note  string
}

type treeNode struct {
	Depth                         int
	Kind, Namespace, Name, Health string
	Message                       string
	URL                           string
}

// tree walks the inventory of an applier with the tree package, as `ferry
// tree` does, with the user's client: an object RBAC hides is marked
// Forbidden by the walker rather than left out.
func (s *Server) tree(ctx context.Context, c *cluster, k objects.Kind, ns, name string) treeView {
	if k.Kind != objects.Kustomization.Kind && k.Kind != objects.HelmRelease.Kind {
		return treeView{}
	}
	w := &tree.Walker{Client: c.kc.Client, Kube: c.core}
	root, err := w.Walk(ctx, k, ns, name)
	if err != nil {
		return treeView{Note: err.Error()}
	}
	var v treeView
	var add func(n *tree.Node, depth int)
	add = func(n *tree.Node, depth int) {
		tn := treeNode{Depth: depth, Kind: n.Kind, Namespace: n.Namespace, Name: n.Name, Health: n.Health, Message: n.Message}
		if n.Error != "" {
			tn.Message = n.Error
		}
		if fk, ok := objects.ByGVK(schema.GroupVersionKind{Group: n.Group, Version: n.Version, Kind: n.Kind}); ok && n.Health != tree.Forbidden {
			tn.URL = objectURL(c.name, fk.Kind, n.Namespace, n.Name)
		}
		if depth > 0 {
			v.Nodes = append(v.Nodes, tn)
		}
		for _, ch := range n.Children {
			add(ch, depth+1)
		}
	}
	add(root, 0)
	if root.Error != "" {
		v.Note = root.Error
	} else if len(v.Nodes) == 0 {
		v.Note = "the inventory is empty"
	}
	return v
}
