package tree

import (
	"fmt"
	"io"
)

// Print writes the tree as flux tree does, each object with its health.
func Print(w io.Writer, root *Node) error {
	if _, err := fmt.Fprintln(w, line(root)); err != nil {
		return err
	}
	return printChildren(w, root, "")
}

func printChildren(w io.Writer, n *Node, indent string) error {
	if n.Error != "" {
		if _, err := fmt.Fprintf(w, "%s└── (%s)\n", indent, n.Error); err != nil {
			return err
		}
	}
	for i, c := range n.Children {
		branch, next := "├── ", "│   "
		if i == len(n.Children)-1 {
			branch, next = "└── ", "    "
		}
		if _, err := fmt.Fprintln(w, indent+branch+line(c)); err != nil {
			return err
		}
		if err := printChildren(w, c, indent+next); err != nil {
			return err
		}
	}
	return nil
}

func line(n *Node) string {
	s := n.Ref() + " " + n.Health
	if n.Message != "" {
		s += ": " + n.Message
	}
	return s
}

// Count returns how many nodes the tree has by health, for summaries.
func Count(root *Node) map[string]int {
	out := map[string]int{}
	var walk func(*Node)
	walk = func(n *Node) {
		out[n.Health]++
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(root)
	return out
}
