// Package meta holds the reference types that several Ferry API groups share
// and that Ferry serves with fewer fields than Flux's own meta package: a field
// Ferry does not implement stays out of the schema, so kubectl rejects it
// instead of Ferry silently ignoring it.
// +kubebuilder:object:generate=true
package meta
