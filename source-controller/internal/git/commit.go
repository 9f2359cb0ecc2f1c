package git

import (
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Commit is a checked-out (or, from ResolveRemote, merely located) commit.
type Commit struct {
	// Hash is the commit's full hex SHA-1.
	Hash string
	// Reference is the name the revision is reported under: the branch or
	// tag name, the full ref for spec.ref.name, or empty for a bare commit.
	Reference string

	// The fields below are filled by Clone only.

	Author    Person
	Committer Person
	Message   string
	// Signature is the commit's armored signature, empty when unsigned.
	Signature string
	// Encoded is the raw commit object without its signature: exactly the
	// bytes Signature signs.
	Encoded []byte
	// Tag is set when the reference is a tag (spec.ref.tag, semver, or a
	// refs/tags/ name), for Tag verification modes.
	Tag *Tag
}

// Tag is the tag a Commit was reached through.
type Tag struct {
	// Name is the tag's short name, such as v1.2.3.
	Name string
	// Hash is the tag object's SHA-1; empty for a lightweight tag, which has
	// no object and so no signature.
	Hash      string
	Tagger    Person
	Message   string
	Signature string
	// Encoded is the raw tag object without its signature.
	Encoded []byte
}

// Person is an author, committer or tagger.
type Person struct {
	Name  string
	Email string
	When  time.Time
}

// Revision returns the revision in Flux's format: "<reference>@sha1:<hex>",
// or "sha1:<hex>" for a bare commit. Artifacts are named and compared by
// this string, so it must be identical between ResolveRemote and Clone.
func (c *Commit) Revision() string {
	if c.Reference == "" {
		return "sha1:" + c.Hash
	}
	return c.Reference + "@sha1:" + c.Hash
}

// ShortMessage returns the subject line of the message, cut to 72
// characters, for event messages.
func (c *Commit) ShortMessage() string {
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	subject = strings.TrimSpace(subject)
	if utf8.RuneCountInString(subject) > 72 {
		return string([]rune(subject)[:71]) + "…"
	}
	return subject
}

func newPerson(s object.Signature) Person {
	return Person{Name: s.Name, Email: s.Email, When: s.When}
}

// commitFrom copies what verification and events need out of a go-git
// commit.
func commitFrom(c *object.Commit, reference string) (*Commit, error) {
	var obj plumbing.MemoryObject
	if err := c.EncodeWithoutSignature(&obj); err != nil {
		return nil, err
	}
	encoded, err := readObject(&obj)
	if err != nil {
		return nil, err
	}
	return &Commit{
		Hash:      c.Hash.String(),
		Reference: reference,
		Author:    newPerson(c.Author),
		Committer: newPerson(c.Committer),
		Message:   c.Message,
		Signature: c.PGPSignature,
		Encoded:   encoded,
	}, nil
}

func tagFrom(t *object.Tag) (*Tag, error) {
	var obj plumbing.MemoryObject
	if err := t.EncodeWithoutSignature(&obj); err != nil {
		return nil, err
	}
	encoded, err := readObject(&obj)
	if err != nil {
		return nil, err
	}
	return &Tag{
		Name:      t.Name,
		Hash:      t.Hash.String(),
		Tagger:    newPerson(t.Tagger),
		Message:   t.Message,
		Signature: t.PGPSignature,
		Encoded:   encoded,
	}, nil
}

func readObject(obj *plumbing.MemoryObject) ([]byte, error) {
	r, err := obj.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
