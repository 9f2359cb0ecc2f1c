package kustomize

import (
	"bytes"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// GeneratorFile is one input of a secretGenerator, handed to the Decryptor
// before kustomize reads it.
type GeneratorFile struct {
	// Path is the file's path inside the artifact, e.g. "/apps/token.enc".
	Path string
	// Key is the name under which a "files" entry lands in the Secret (the
	// part before "=", or the file's base name); it also says the file's
	// format by its extension, as the sops CLI and Flux read it. Empty for
	// "envs" entries.
	Key string
	// Env is true for an "envs" entry, a dotenv file.
	Env bool
}

// Decryptor decrypts SOPS-encrypted secretGenerator inputs. It is handed
// every such input, encrypted or not, and returns the content kustomize
// should read. kustomize-controller's SOPS decryptor implements it (a nil
// one still refuses encrypted input with a clear error); with no Decryptor
// the inputs are read as they are.
type Decryptor interface {
	DecryptGeneratorFile(f GeneratorFile, data []byte) ([]byte, error)
}

// inspector walks the kustomization tree before kustomize runs, doing what
// kustomize itself cannot be told to do: refuse remote bases and decrypt
// secretGenerator inputs in memory, as Flux decrypts them before it builds.
// It follows local resources, bases and components; kustomize reports any
// other problem (a missing directory, a malformed file) itself.
type inspector struct {
	fsys    *overlay
	opts    Options
	visited map[string]bool
	// remote is set when some kustomization refers to an HTTP(S) file.
	remote bool
}

func inspect(fsys *overlay, dir string, k map[string]any, file string, opts Options) error {
	in := &inspector{fsys: fsys, opts: opts, visited: map[string]bool{}}
	err := in.visit(dir, k, file)
	if opts.Remote != nil {
		*opts.Remote = in.remote
	}
	return err
}

// visit checks the kustomization k, read from file in dir, and recurses into
// the local kustomizations it includes.
func (in *inspector) visit(dir string, raw map[string]any, file string) error {
	if in.visited[dir] {
		return nil
	}
	in.visited[dir] = true

	k, err := typed(raw)
	if err != nil {
		// kustomize will name the problem when it loads the file.
		return nil
	}
	for _, res := range append(append([]string{}, k.Resources...), k.Components...) {
		if err := in.checkRemoteBase(file, res); err != nil {
			return err
		}
		in.remote = in.remote || isHTTP(res)
	}
	if err := in.checkRemoteFiles(file, k); err != nil {
		if in.opts.NoRemoteBases {
			return err
		}
		in.remote = true
	}
	if err := in.decryptGenerators(dir, file, k); err != nil {
		return err
	}
	for _, res := range append(append([]string{}, k.Resources...), k.Components...) {
		sub := filepath.Join(dir, res)
		if isRemote(res) || !in.fsys.IsDir(sub) {
			continue
		}
		subFile := findKustomization(in.fsys, sub)
		if subFile == "" {
			continue
		}
		subRaw, err := readKustomization(in.fsys, subFile)
		if err != nil {
			return err
		}
		if err := in.visit(clean(sub), subRaw, subFile); err != nil {
			return err
		}
	}
	return nil
}

// typed converts the generic kustomization into kustomize's type, leniently
// (unknown fields are kustomize's to report), with deprecated fields moved
// to their current names.
func typed(raw map[string]any) (*kustypes.Kustomization, error) {
	data, err := yaml.Marshal(raw)
	if err != nil {
		return nil, err
	}
	k := &kustypes.Kustomization{}
	if err := yaml.Unmarshal(data, k); err != nil {
		return nil, err
	}
	k.FixKustomization()
	return k, nil
}

// checkRemoteBase refuses remote resources and components. HTTP(S) files
// are refused only with --no-remote-bases. Git remote bases are always
// refused: kustomize fetches them by running git into a temporary
// directory outside the artifact, which the confined filesystem (rightly)
// cannot see, and Ferry's image ships no git binary.
func (in *inspector) checkRemoteBase(file, res string) error {
	if !isRemote(res) {
		// A path that looks like "github.com/org/repo" but exists in the
		// artifact is local.
		if !looksLikeHostPath(res) || in.fsys.Exists(filepath.Join(filepath.Dir(file), res)) {
			return nil
		}
	}
	if isHTTP(res) {
		if in.opts.NoRemoteBases {
			return fmt.Errorf("%s: remote resource %q is not allowed: remote bases are disabled (--no-remote-bases)", file, res)
		}
		return nil
	}
	return fmt.Errorf("%s: remote git base %q is not supported: kustomize builds only see the source artifact; "+
		"add the base to the source, or reconcile it with its own GitRepository and Kustomization", file, res)
}

// checkRemoteFiles refuses the other fields that kustomize would fetch over
// HTTP, so that --no-remote-bases means no fetch at all.
func (in *inspector) checkRemoteFiles(file string, k *kustypes.Kustomization) error {
	paths := append(append(append(append([]string{}, k.Crds...), k.Configurations...), k.Generators...), k.Transformers...)
	paths = append(paths, k.Validators...)
	paths = append(paths, k.OpenAPI["path"])
	for _, p := range k.Patches {
		paths = append(paths, p.Path)
	}
	for _, p := range k.PatchesStrategicMerge {
		paths = append(paths, string(p))
	}
	for _, r := range k.Replacements {
		paths = append(paths, r.Path)
	}
	for _, g := range k.ConfigMapGenerator {
		paths = append(paths, sourcePaths(g.KvPairSources)...)
	}
	for _, g := range k.SecretGenerator {
		paths = append(paths, sourcePaths(g.KvPairSources)...)
	}
	for _, p := range paths {
		if isHTTP(p) {
			return fmt.Errorf("%s: remote file %q is not allowed: remote bases are disabled (--no-remote-bases)", file, p)
		}
	}
	return nil
}

func sourcePaths(s kustypes.KvPairSources) []string {
	out := append([]string{}, s.EnvSources...)
	for _, f := range s.FileSources {
		_, p := splitFileSource(f)
		out = append(out, p)
	}
	return out
}

// decryptGenerators hands every secretGenerator input of k to the
// Decryptor and keeps what it returns in memory, where kustomize will read
// it. configMapGenerator inputs are left alone, as in Flux: decrypting them
// would put secrets into ConfigMaps.
func (in *inspector) decryptGenerators(dir, file string, k *kustypes.Kustomization) error {
	if in.opts.Decryptor == nil {
		return nil
	}
	for _, g := range k.SecretGenerator {
		var inputs []GeneratorFile
		for _, env := range g.EnvSources {
			inputs = append(inputs, GeneratorFile{Path: env, Env: true})
		}
		for _, src := range g.FileSources {
			key, p := splitFileSource(src)
			inputs = append(inputs, GeneratorFile{Path: p, Key: key})
		}
		for _, f := range inputs {
			if isHTTP(f.Path) {
				continue
			}
			f.Path = clean(filepath.Join(dir, f.Path))
			if !in.fsys.Exists(f.Path) || in.fsys.IsDir(f.Path) {
				// kustomize reports a missing input; directories hold plain
				// files the sops CLI cannot have encrypted as one.
				continue
			}
			data, err := in.fsys.ReadFile(f.Path)
			if err != nil {
				return err
			}
			out, err := in.opts.Decryptor.DecryptGeneratorFile(f, data)
			if err != nil {
				return fmt.Errorf("%s: secretGenerator %q: %w", file, g.Name, err)
			}
			if !bytes.Equal(out, data) {
				if err := in.fsys.WriteFile(f.Path, out); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// splitFileSource splits a "files" entry, "[key=]path", into the key the
// file lands under and its path.
func splitFileSource(src string) (key, path string) {
	if k, p, ok := strings.Cut(src, "="); ok {
		return k, p
	}
	return filepath.Base(src), src
}

func isHTTP(p string) bool {
	u, err := url.Parse(p)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https")
}

// isRemote reports whether a resource entry names something outside the
// artifact by its form alone: a URL, or one of git's address forms.
func isRemote(p string) bool {
	if strings.HasPrefix(p, "git::") || strings.HasPrefix(p, "git@") {
		return true
	}
	u, err := url.Parse(p)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https", "ssh", "git", "file":
		return true
	}
	return false
}

// looksLikeHostPath reports whether p starts with a host name, as in
// kustomize's "github.com/org/repo//dir?ref=v1" shorthand.
func looksLikeHostPath(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return strings.Contains(first, ".") && first != "." && first != ".." && strings.Contains(p, "/")
}
