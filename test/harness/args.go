package harness

import "path/filepath"

// Addrs are the loopback addresses a set of controller processes serve on.
type Addrs struct {
	// Storage is the source-controller's artifact server.
	Storage string
	// Events is the notification-controller's event endpoint.
	Events string
	// Receiver is the notification-controller's webhook receiver.
	Receiver string
}

// Args returns each controller's flags for a local run in work: free
// loopback ports for every server, artifacts advertised on loopback, and
// every controller posting its events to the notification-controller.
func Args(work string) (Addrs, map[string][]string) {
	a := Addrs{Storage: FreeAddr(), Events: FreeAddr(), Receiver: FreeAddr()}
	eventsURL := "--events-addr=http://" + a.Events + "/"
	return a, map[string][]string{
		"source-controller": {
			"--storage-path=" + filepath.Join(work, "storage"),
			"--storage-addr=" + a.Storage,
			"--storage-adv-addr=" + a.Storage,
			eventsURL,
		},
		"kustomize-controller":    {eventsURL, "--artifact-cache-path=" + filepath.Join(work, "kustomize-artifacts")},
		"helm-controller":         {eventsURL},
		"rollout-controller":      {eventsURL},
		"notification-controller": {"--events-addr=" + a.Events, "--receiverAddr=" + a.Receiver},
	}
}
