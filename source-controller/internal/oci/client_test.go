package oci

import (
	"encoding/base64"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	. "github.com/onsi/gomega"
)

func TestHighestTag(t *testing.T) {
	tags := []string{"latest", "1.0.0", "v1.2.0", "1.10.0-rc.1", "2.0.0", "1.9.9"}
	tests := []struct{ constraint, filter, want string }{
		{"1.x", "", "1.9.9"},
		{">=1.0.0-0 <2.0.0", "", "1.10.0-rc.1"},
		{"~1.2", "", "v1.2.0"},
		{"*", "^1\\.", "1.9.9"},
		{">=3", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.constraint, func(t *testing.T) {
			got, err := highestTag(tags, tt.constraint, tt.filter)
			if tt.want == "" {
				NewWithT(t).Expect(IsNotFound(err)).To(BeTrue())
				return
			}
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			NewWithT(t).Expect(got).To(Equal(tt.want))
		})
	}
	_, err := highestTag(tags, "1.x", "(")
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring("invalid semverFilter")))
}

func TestKeychain(t *testing.T) {
	g := NewWithT(t)
	reg := func(s string) authn.Resource {
		r, err := name.NewRegistry(s)
		g.Expect(err).NotTo(HaveOccurred())
		return r
	}
	cfg := `{"auths": {"https://registry.example:5000/v1/": {"auth": "` + base64.StdEncoding.EncodeToString([]byte("u:p")) + `"},
		"other.example": {"username": "o", "password": "q"}}}`
	kc, err := KeychainFromSecret(map[string][]byte{DockerConfigKey: []byte(cfg)})
	g.Expect(err).NotTo(HaveOccurred())
	for host, want := range map[string]authn.AuthConfig{
		"registry.example:5000": {Username: "u", Password: "p"},
		"other.example":         {Username: "o", Password: "q"},
		"unknown.example":       {},
	} {
		a, err := kc.Resolve(reg(host))
		g.Expect(err).NotTo(HaveOccurred())
		got, err := a.Authorization()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got.Username).To(Equal(want.Username), host)
		g.Expect(got.Password).To(Equal(want.Password), host)
	}

	kc, err = KeychainFromSecret(map[string][]byte{"username": []byte("a"), "password": []byte("b")})
	g.Expect(err).NotTo(HaveOccurred())
	a, _ := kc.Resolve(reg("any.example"))
	got, _ := a.Authorization()
	g.Expect(got.Username).To(Equal("a"))

	_, err = KeychainFromSecret(map[string][]byte{"token": []byte("x")})
	g.Expect(err).To(HaveOccurred())
	_, err = KeychainFromSecret(map[string][]byte{DockerConfigKey: []byte("{")})
	g.Expect(err).To(MatchError(ContainSubstring("invalid docker config JSON")))
}

func TestRepository(t *testing.T) {
	g := NewWithT(t)
	c := New(Options{})
	repo, err := c.Repository("oci://registry.example:5000/org/app/")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(repo.String()).To(Equal("registry.example:5000/org/app"))
	_, err = c.Repository("https://registry.example/org/app")
	g.Expect(err).To(MatchError(ContainSubstring("must start with oci://")))
	_, err = c.Repository("oci://registry.example/Org/App")
	g.Expect(err).To(HaveOccurred())
}
