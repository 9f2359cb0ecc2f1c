// Package check tells whether a cluster is ready for GitOps, as `flux
// check` does: the Flux CRDs installed and the versions they serve, and
// the controllers' Deployments running and ready. It works for Ferry's
// install (namespace ferry-system) and Flux's (flux-system) alike.
package check

import (
	"context"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/objects"
)

// Controllers are the Deployments a complete install runs.
var Controllers = []string{"source-controller", "kustomize-controller", "helm-controller", "notification-controller"}

// Namespaces are where the controllers are looked for, in order.
var Namespaces = []string{"ferry-system", "flux-system"}

// CRD is one installed Flux CRD.
type CRD struct {
	Name string `json:"name"`
	// Served are the versions served; Storage is the stored one.
	Served  []string `json:"served"`
	Storage string   `json:"storage"`
	// Want is the version the CLI reads; OK is false when it is not served.
	Want string `json:"want,omitempty"`
	OK   bool   `json:"ok"`
}

// Controller is one controller Deployment.
type Controller struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Ready     int32  `json:"ready"`
	Desired   int32  `json:"desired"`
	Image     string `json:"image,omitempty"`
	Found     bool   `json:"found"`
	OK        bool   `json:"ok"`
}

// Report is the outcome of a check.
type Report struct {
	CRDs        []CRD        `json:"crds"`
	Controllers []Controller `json:"controllers"`
	// Problems are what a person must fix, one sentence each.
	Problems []string `json:"problems,omitempty"`
}

// Run checks the cluster; namespace, when set, is where the controllers
// run, else Namespaces are tried.
func Run(ctx context.Context, c client.Reader, namespace string) (*Report, error) {
	r := &Report{}
	if err := r.crds(ctx, c); err != nil {
		return nil, err
	}
	if err := r.controllers(ctx, c, namespace); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Report) crds(ctx context.Context, c client.Reader) error {
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion("apiextensions.k8s.io/v1")
	list.SetKind("CustomResourceDefinitionList")
	if err := c.List(ctx, list); err != nil {
		return fmt.Errorf("listing CRDs: %w", err)
	}
	installed := map[string]CRD{}
	for _, item := range list.Items {
		group, _, _ := unstructured.NestedString(item.Object, "spec", "group")
		if !strings.HasSuffix(group, ".toolkit.fluxcd.io") {
			continue
		}
		crd := CRD{Name: item.GetName()}
		versions, _, _ := unstructured.NestedSlice(item.Object, "spec", "versions")
		for _, v := range versions {
			m, _ := v.(map[string]any)
			name, _ := m["name"].(string)
			if served, _ := m["served"].(bool); served {
				crd.Served = append(crd.Served, name)
			}
			if storage, _ := m["storage"].(bool); storage {
				crd.Storage = name
			}
		}
		installed[crd.Name] = crd
	}
	for _, k := range objects.Kinds {
		if k.Optional {
			// Installed with the rollout-controller only; a Flux install
			// has none and needs none.
			continue
		}
		name := k.Resource + "." + k.GroupVersion.Group
		crd, ok := installed[name]
		if !ok {
			if k.Kind != objects.ExternalArtifact.Kind {
				r.Problems = append(r.Problems, fmt.Sprintf("CRD %s is not installed: install Ferry with kubectl apply -k config/default", name))
			}
			continue
		}
		crd.Want = k.GroupVersion.Version
		for _, v := range crd.Served {
			crd.OK = crd.OK || v == crd.Want
		}
		if !crd.OK {
			r.Problems = append(r.Problems, fmt.Sprintf("CRD %s does not serve %s (serves %s): upgrade the install", name, crd.Want, strings.Join(crd.Served, ", ")))
		}
		delete(installed, name)
		r.CRDs = append(r.CRDs, crd)
	}
	var rest []string
	for name := range installed {
		rest = append(rest, name)
	}
	sort.Strings(rest)
	for _, name := range rest {
		crd := installed[name]
		crd.OK = true
		r.CRDs = append(r.CRDs, crd)
	}
	return nil
}

func (r *Report) controllers(ctx context.Context, c client.Reader, namespace string) error {
	namespaces := Namespaces
	if namespace != "" {
		namespaces = []string{namespace}
	}
	for _, name := range Controllers {
		ctl := Controller{Name: name, Namespace: namespaces[0]}
		for _, ns := range namespaces {
			d := &appsv1.Deployment{}
			err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("reading Deployment %s/%s: %w", ns, name, err)
			}
			ctl = Controller{Namespace: ns, Name: name, Found: true, Ready: d.Status.ReadyReplicas, Desired: 1}
			if d.Spec.Replicas != nil {
				ctl.Desired = *d.Spec.Replicas
			}
			if cs := d.Spec.Template.Spec.Containers; len(cs) > 0 {
				ctl.Image = cs[0].Image
			}
			ctl.OK = ctl.Ready >= ctl.Desired && ctl.Desired > 0
			break
		}
		switch {
		case !ctl.Found:
			r.Problems = append(r.Problems, fmt.Sprintf("no %s Deployment in %s", name, strings.Join(namespaces, " or ")))
		case !ctl.OK:
			r.Problems = append(r.Problems, fmt.Sprintf("%s/%s has %d of %d replicas ready: see kubectl -n %s describe deployment %s",
				ctl.Namespace, name, ctl.Ready, ctl.Desired, ctl.Namespace, name))
		}
		r.Controllers = append(r.Controllers, ctl)
	}
	return nil
}
