package options

import (
	"testing"

	"github.com/spf13/pflag"
)

// TestConcurrentDefault checks that a controller's preset Concurrent is the
// flag's default, 4 when none is preset, and that the flag still wins.
func TestConcurrentDefault(t *testing.T) {
	for _, tt := range []struct {
		name   string
		preset int
		args   []string
		want   int
	}{
		{"no preset", 0, nil, 4},
		{"preset", 10, nil, 10},
		{"flag over preset", 10, []string{"--concurrent=3"}, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Concurrent: tt.preset}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.BindFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if o.Concurrent != tt.want {
				t.Fatalf("Concurrent = %d, want %d", o.Concurrent, tt.want)
			}
		})
	}
}
