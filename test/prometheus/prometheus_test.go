package prometheus

import (
	"context"
	"testing"
)

// TestServer: the real server scrapes the endpoint and answers the error
// rate the test set, before and after a flip.
func TestServer(t *testing.T) {
	s := Start(t, Healthy)
	got, err := s.Query(context.Background(), ErrorRateQuery)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != Healthy {
		t.Fatalf("%s = %v, want [%v]", ErrorRateQuery, got, Healthy)
	}
	s.SetErrorRate(t, Failing)
	if got, err = s.Query(context.Background(), ErrorRateQuery); err != nil || len(got) != 1 || got[0] != Failing {
		t.Fatalf("%s = %v (%v), want [%v]", ErrorRateQuery, got, err, Failing)
	}
	if got, err = s.Query(context.Background(), ErrorRate+`{service="other"}`); err != nil || len(got) != 0 {
		t.Fatalf("a selector that matches nothing = %v (%v), want []", got, err)
	}
}
