package syncwindow

import (
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, name string, kind Kind, schedule, duration, tz string, manual bool) Window {
	t.Helper()
	d, err := time.ParseDuration(duration)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Parse(name, kind, schedule, d, tz, manual)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return w
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestEvaluate(t *testing.T) {
	// 2026-12-07 is a Monday.
	businessHours := func(manual bool) Window {
		return mustParse(t, "apps/business-hours", Allow, "0 8 * * 1-5", "10h", "Europe/Berlin", manual)
	}
	weekendFreeze := mustParse(t, "apps/weekend-freeze", Deny, "0 0 * * 6", "48h", "Europe/Berlin", false)
	lunchDeny := func(manual bool) Window {
		return mustParse(t, "apps/lunch", Deny, "0 12 * * *", "1h", "Europe/Berlin", manual)
	}

	tests := []struct {
		name     string
		windows  []Window
		now      string
		blocked  bool
		manual   bool
		reason   string
		nextOpen string
	}{
		{name: "no windows allow", now: "2026-12-07T03:00:00Z"},
		{name: "inside allow window (Berlin is UTC+1 in December)", windows: []Window{businessHours(false)},
			now: "2026-12-07T07:00:00Z", reason: "allowed by active window apps/business-hours"},
		{name: "before allow window opens", windows: []Window{businessHours(false)},
			now: "2026-12-07T06:59:00Z", blocked: true, reason: "outside every allow window", nextOpen: "2026-12-07T07:00:00Z"},
		{name: "allow window end is exclusive", windows: []Window{businessHours(false)},
			now: "2026-12-07T17:00:00Z", blocked: true, nextOpen: "2026-12-08T07:00:00Z"},
		{name: "friday evening opens on monday", windows: []Window{businessHours(false)},
			now: "2026-12-11T18:00:00Z", blocked: true, nextOpen: "2026-12-14T07:00:00Z"},
		{name: "active deny blocks", windows: []Window{weekendFreeze},
			now: "2026-12-12T10:00:00Z", blocked: true, reason: "denied by active window apps/weekend-freeze", nextOpen: "2026-12-13T23:00:00Z"},
		{name: "inactive deny allows", windows: []Window{weekendFreeze}, now: "2026-12-09T10:00:00Z"},
		{name: "deny overrides an overlapping allow", windows: []Window{businessHours(false), lunchDeny(false)},
			now: "2026-12-07T11:30:00Z", blocked: true, reason: "denied by active window apps/lunch", nextOpen: "2026-12-07T12:00:00Z"},
		{name: "manual sync through a deny window that allows it", windows: []Window{lunchDeny(true)},
			now: "2026-12-07T11:30:00Z", blocked: true, manual: true},
		{name: "manual needs every active deny to allow it", windows: []Window{lunchDeny(true), mustParse(t, "apps/all-day", Deny, "0 0 * * *", "24h", "UTC", false)},
			now: "2026-12-07T11:30:00Z", blocked: true, manual: false},
		{name: "manual sync outside allow windows when one allows it", windows: []Window{businessHours(true)},
			now: "2026-12-07T20:00:00Z", blocked: true, manual: true},
		{name: "deny and allow never open together", windows: []Window{mustParse(t, "a/deny-all", Deny, "0 0 * * *", "24h", "UTC", false), businessHours(false)},
			now: "2026-12-07T10:00:00Z", blocked: true},
		{name: "time zone shifts the window", windows: []Window{mustParse(t, "apps/ny", Allow, "0 9 * * *", "1h", "America/New_York", false)},
			now: "2026-12-07T14:30:00Z", reason: "allowed by active window apps/ny"},
		{name: "time zone: the same instant is outside a UTC window", windows: []Window{mustParse(t, "apps/utc", Allow, "0 9 * * *", "1h", "", false)},
			now: "2026-12-07T14:30:00Z", blocked: true, nextOpen: "2026-12-08T09:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Evaluate(tt.windows, at(t, tt.now))
			if v.Blocked != tt.blocked {
				t.Fatalf("blocked = %v, want %v (%s)", v.Blocked, tt.blocked, v.Reason)
			}
			if v.Manual != tt.manual {
				t.Errorf("manual = %v, want %v", v.Manual, tt.manual)
			}
			if tt.reason != "" && !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("reason = %q, want it to contain %q", v.Reason, tt.reason)
			}
			if tt.nextOpen != "" && !v.NextOpen.Equal(at(t, tt.nextOpen)) {
				t.Errorf("next open = %s, want %s", v.NextOpen.UTC().Format(time.RFC3339), tt.nextOpen)
			}
			if tt.blocked && tt.name == "deny and allow never open together" && !v.NextOpen.IsZero() {
				t.Errorf("next open = %s, want none", v.NextOpen)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, schedule, duration, tz string
		kind                         Kind
		want                         string
	}{
		{"bad cron", "0 8 * *", "1h", "", Allow, `invalid schedule "0 8 * *"`},
		{"bad field", "0 25 * * *", "1h", "", Allow, "invalid schedule"},
		{"bad zone", "0 8 * * *", "1h", "Mars/Olympus", Allow, `invalid timeZone "Mars/Olympus"`},
		{"bad kind", "0 8 * * *", "1h", "", Kind("maybe"), `invalid kind "maybe"`},
		{"zero duration", "0 8 * * *", "0s", "", Deny, "invalid duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := time.ParseDuration(tt.duration)
			_, err := Parse("ns/w", tt.kind, tt.schedule, d, tt.tz, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
