// Package artifact groups the packages that move source artifacts between Ferry's
// controllers: the source-controller builds (archive), stores (storage) and serves
// (server) them; the appliers download, verify and cache them (fetch) and unpack them
// safely (untar). Each subpackage does one of those jobs so that it can be tested and
// reasoned about alone.
package artifact
