package provider

import (
	"context"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	. "github.com/onsi/gomega"
)

// startNATS runs a real NATS server on a free loopback port for the test,
// accepting only user "flux" with password "s3cret".
func startNATS(t *testing.T) string {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, Username: "flux", Password: "s3cret", NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start")
	}
	return s.ClientURL()
}

// TestNATSPublishesEvent publishes an event through the nats provider to an
// embedded NATS server and reads it back from a subscriber on the subject.
func TestNATSPublishesEvent(t *testing.T) {
	g := NewWithT(t)
	addr := startNATS(t)

	sub, err := nats.Connect(addr, nats.UserInfo("flux", "s3cret"))
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(sub.Close)
	msgs := make(chan *nats.Msg, 4)
	_, err = sub.ChanSubscribe("flux.events", msgs)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(sub.Flush()).To(Succeed())

	n, err := New(Config{Type: "nats", Address: addr, Channel: "flux.events", Username: "flux", Password: "s3cret", Timeout: 5 * time.Second})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n.Post(context.Background(), testEvent(eventv1.EventSeverityError))).To(Succeed())

	var msg *nats.Msg
	g.Eventually(msgs, 10*time.Second).Should(Receive(&msg))
	g.Expect(msg.Subject).To(Equal("flux.events"))
	g.Expect(string(msg.Data)).To(MatchJSON(mustJSON(testEvent(eventv1.EventSeverityError))))
}

// TestNATSWrongCredentials checks a refused login is an error that does not
// print the server URL.
func TestNATSWrongCredentials(t *testing.T) {
	g := NewWithT(t)
	addr := startNATS(t)
	n, err := New(Config{Type: "nats", Address: addr, Channel: "flux.events", Username: "flux", Password: "wrong", Timeout: 5 * time.Second})
	g.Expect(err).NotTo(HaveOccurred())
	err = n.Post(context.Background(), testEvent(eventv1.EventSeverityInfo))
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).NotTo(ContainSubstring(addr))
	g.Expect(err.Error()).To(ContainSubstring("connecting to the NATS server"))
}
