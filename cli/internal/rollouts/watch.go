package rollouts

import (
	"context"
	"errors"
	"reflect"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Watch reads the rollout every interval and calls show with each Info
// that differs from the last one shown (the first always), until ctx ends
// (nil is returned then) or a read or show fails. Polling rather than a
// watch keeps it to the `get` and `list` a user of `ferry rollout get`
// already needs, and a person watching a canary step needs no more than a
// second's resolution.
func Watch(ctx context.Context, c client.Reader, ns, name string, interval time.Duration, show func(Info) error) error {
	var last *Info
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		in, err := Get(ctx, c, ns, name)
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, err
		}
		if last != nil && reflect.DeepEqual(*last, in) {
			return false, nil
		}
		last = &in
		return false, show(in)
	})
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || wait.Interrupted(err) {
		return nil
	}
	return err
}
