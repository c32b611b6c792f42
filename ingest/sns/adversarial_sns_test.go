package sns

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/paystream/paystream/pipeline/snsverify"
)

// TestAdversarialSNSTopicAndTime: messages validly signed by SNS (the test's trusted signer), sent
// with the integration's secrets, are accepted only from the integration's topic and only while SNS
// could still be delivering them. Anyone with an AWS account gets messages signed for a topic of
// their own, and a captured signed message replays forever otherwise: the old code accepted both.
// Refusals are 401 in seed 003's shape {code, message}, and produce or fetch nothing.
func TestAdversarialSNSTopicAndTime(t *testing.T) {
	f := newSNSFixture(t, nil)
	pub := recordEvents(f.fixture)
	at := func(d time.Duration) string { return time.Now().Add(d).UTC().Format("2006-01-02T15:04:05.000Z") }
	note := func(topic, ts string) string {
		text, _ := json.Marshal(seedMessage(newTrx(), nil))
		return f.envelope(t, &snsverify.Message{Type: "Notification", MessageID: "m-" + randHex(6), Message: string(text), Timestamp: ts, TopicArn: topic}, false, "1")
	}
	confirmation := func(topic, ts string) string {
		return f.envelope(t, &snsverify.Message{
			Type: "SubscriptionConfirmation", MessageID: "c-" + randHex(6), Token: "tok" + randHex(4), TopicArn: topic,
			Message: "You have chosen to subscribe to the topic " + topic + ".", Timestamp: ts,
			SubscribeURL: f.signer.SubscribeURL(topic, "tok", false),
		}, false, "1")
	}
	refused := func(what string, code int, m map[string]any, reason string) {
		t.Helper()
		if want := "Invalid SNS signature: " + reason; code != 401 || m["code"] != float64(401) || m["message"] != want || len(m) != 2 {
			t.Errorf("%s: got %d %v, want 401 %q", what, code, m, want)
		}
	}
	const other = "arn:aws:sns:ap-southeast-1:999999999999:attacker"

	_, before := pub.Last()
	code, m, _ := f.post(note(other, at(0)))
	refused("a notification from another topic", code, m, "TopicArn is not this integration's topic")
	code, m, _ = f.post(confirmation(other, at(0)))
	refused("a confirmation from another topic", code, m, "TopicArn is not this integration's topic")
	if n := f.signer.Confirmations(); n != 0 {
		t.Errorf("a foreign topic's SubscribeURL was fetched %d times", n)
	}
	for _, tc := range []struct {
		age    time.Duration
		reason string // "" when accepted
	}{
		{-2 * time.Hour, "message is stale: its Timestamp is more than 1h5m0s old"},
		{-snsMaxAge - time.Minute, "message is stale: its Timestamp is more than 1h5m0s old"},
		{-24 * 365 * time.Hour, "message is stale: its Timestamp is more than 1h5m0s old"},
		{10 * time.Minute, "Timestamp is more than 5m0s in the future"},
		{-59 * time.Minute, ""}, // SNS still retrying within its hour
		{2 * time.Minute, ""},   // clock skew
	} {
		code, m, _ := f.post(note(snsTestTopic, at(tc.age)))
		if tc.reason == "" {
			wantOK(t, fmt.Sprintf("Timestamp %v from now", tc.age), code, m, "Notification processed.")
		} else {
			refused(fmt.Sprintf("Timestamp %v from now", tc.age), code, m, tc.reason)
		}
	}
	code, m, _ = f.post(note(snsTestTopic, "yesterday"))
	refused("a Timestamp that is not a time", code, m, "Timestamp must be an RFC 3339 time")
	if _, after := pub.Last(); after != before+2 {
		t.Errorf("%d events produced, want the 2 accepted notifications only", after-before)
	}

	// An integration created without its topic: signed notifications wait for a confirmed
	// subscription, which pins its topic; another topic is then refused, confirmation included.
	admin := map[string]string{"Authorization": "Bearer " + f.Admin}
	code, m, _ = f.do("POST", "/admin/v1/merchants/"+f.merchantID+"/integrations", admin,
		fmt.Sprintf(`{"type":"sns","environment":"SANDBOX","wallet":{"provider":"bkash","account":%q},"topicArn":"bpt_017"}`, f.wallet.Account))
	if code != 400 || m["statusCode"] != float64(400) {
		t.Errorf("an integration with a topicArn that is no ARN: %d %v", code, m)
	}
	code, m, _ = f.do("POST", "/admin/v1/merchants/"+f.merchantID+"/integrations", admin,
		fmt.Sprintf(`{"type":"sns","environment":"SANDBOX","wallet":{"provider":"bkash","account":%q}}`, f.wallet.Account))
	if code != 201 {
		t.Fatalf("creating an integration without topicArn: %d %v", code, m)
	}
	post := func(body string) (int, map[string]any) {
		code, m, _ := f.do("POST", Prefix+"?shunno_id="+url.QueryEscape(m["shunnoId"].(string))+"&client_app=SHUNNOIT",
			map[string]string{"x-app-secret": m["appSecret"].(string), "x-client-secret": m["clientSecret"].(string)}, body)
		return code, m
	}
	code, got := post(note(snsTestTopic, at(0)))
	refused("a notification before any topic is bound", code, got, "no SNS topic is bound to this integration yet; confirm the subscription first, or create the integration with its topicArn")
	code, got = post(confirmation(snsTestTopic, at(0)))
	wantOK(t, "the first signed confirmation", code, got, "Subscription Confirmed")
	f.Rebuild(nil, nil) // as another replica sees it (fresh caches)
	code, got = post(note(snsTestTopic, at(0)))
	wantOK(t, "a notification of the pinned topic", code, got, "Notification processed.")
	code, got = post(note(other, at(0)))
	refused("a notification of another topic after pinning", code, got, "TopicArn is not this integration's topic")
	code, got = post(confirmation(other, at(0)))
	refused("a confirmation of another topic after pinning", code, got, "TopicArn is not this integration's topic")
}
