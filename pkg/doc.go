// Package pkg holds the contract shared by Ferry's controllers: the API types
// and the small runtime packages every controller uses.
package pkg
