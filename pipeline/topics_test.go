package pipeline

import "testing"

// TestTopicsGroup: the default prefix keeps the historical group ids (a deployment's committed
// offsets stay where they are); any other prefix gets groups of its own, so two deployments
// sharing a cluster never join one group.
func TestTopicsGroup(t *testing.T) {
	for _, tc := range []struct{ prefix, group, want string }{
		{"", GroupMatcher, "paystream-matcher"},
		{"paystream.", GroupWebhooks, "paystream-webhooks"},
		{"acme.", GroupAudit, "acme.paystream-audit"},
		{"t1.", GroupMatcher, "t1.paystream-matcher"},
	} {
		if got := (Topics{Prefix: tc.prefix}).Group(tc.group); got != tc.want {
			t.Errorf("Topics{%q}.Group(%q) = %q, want %q", tc.prefix, tc.group, got, tc.want)
		}
	}
	a, b := Topics{Prefix: "a."}, Topics{Prefix: "b."}
	for _, g := range []string{GroupMatcher, GroupWebhooks, GroupAudit} {
		if a.Group(g) == b.Group(g) {
			t.Errorf("prefixes a. and b. share group %q", a.Group(g))
		}
	}
}
