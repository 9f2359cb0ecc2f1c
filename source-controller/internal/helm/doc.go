// Package helm is the source-controller's Helm logic, free of Kubernetes:
// reading chart repository indexes, picking a chart version, downloading
// and verifying packaged charts, merging values files, resolving a chart's
// dependencies and packaging it.
//
// Charts are loaded, checked and packaged with the Helm SDK. The repository
// index is the exception: Helm's own loader turns YAML into JSON and then into
// its full index types, which takes about a second for a 10 MB index on one
// core and holds every field of every version in memory. Large public
// repositories publish indexes of that size and more, and every HelmChart
// reconcile reads one. ParseIndex therefore reads only the fields a version
// pick and a download need (name, version, urls, digest, created), with a
// line scanner for the block layout that repository tools write and
// go.yaml.in/yaml/v3 for anything else. BenchmarkParseIndex measures both
// against Helm's loader; TestScannerMatchesYAML checks they agree.
package helm
