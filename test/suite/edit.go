package suite

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Edit applies mutate to the latest copy of obj and updates it, retrying
// conflicts with the controller's status writes until timeout; obj holds
// the updated object after.
func Edit[T client.Object](t testing.TB, c client.Client, obj T, mutate func(T), timeout time.Duration) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		return c.Update(context.Background(), obj)
	}, timeout, 100*time.Millisecond).Should(Succeed())
}
