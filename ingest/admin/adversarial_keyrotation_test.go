package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

// barrierHook holds every plain SET of a key starting with prefix until n of them have arrived (or
// a deadline passes), so n concurrent requests are all past their reads before any of them writes:
// the widest race the handler can meet, made certain instead of lucky.
type barrierHook struct {
	prefix  string
	n       int32
	arrived atomic.Int32
	all     chan struct{}
	once    sync.Once
}

func (h *barrierHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *barrierHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *barrierHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if args := cmd.Args(); cmd.Name() == "set" && len(args) > 1 && strings.HasPrefix(fmt.Sprint(args[1]), h.prefix) {
			if h.arrived.Add(1) >= h.n {
				h.once.Do(func() { close(h.all) })
			}
			select {
			case <-h.all:
			case <-time.After(10 * time.Second): // a request that never reaches the SET must not hang the test
			}
		}
		return next(ctx, cmd)
	}
}

// TestAdversarialConcurrentKeyRotation: N rotations of one merchant's SANDBOX key, all past their
// reads before any writes. Exactly one answers 200, the others 409 in the native shape; the key
// answered 200 works, the original key does not, and no other key of the merchant's environment
// exists in Redis (a loser's key would be a working key nobody was told about). The old code
// answered 200 with a key to every request, and all but the last were already revoked.
func TestAdversarialConcurrentKeyRotation(t *testing.T) {
	for _, n := range []int{2, 8} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFixture(t, 5*time.Second)
			adm := map[string]string{"Authorization": "Bearer " + f.admin}
			testKey, liveKey := f.onboard(t)
			m, _, err := f.s.dir.MerchantByAPIKey(t.Context(), testKey)
			if err != nil || m == nil {
				t.Fatalf("authenticate: %v %v", m, err)
			}
			f.s.rdb.AddHook(&barrierHook{prefix: f.keys.APIKey(""), n: int32(n), all: make(chan struct{})})

			type answer struct {
				code int
				body map[string]any
			}
			answers := make([]answer, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					code, body, _ := f.do("POST", "/admin/v1/merchants/"+m.ID+"/keys/rotate", adm, `{"environment":"SANDBOX"}`)
					answers[i] = answer{code, body}
				})
			}
			wg.Wait()

			var won []string
			for _, a := range answers {
				switch a.code {
				case 200:
					won = append(won, a.body["apiKey"].(string))
				case 409:
					if a.body["statusCode"] != float64(409) || a.body["error"] != "Conflict" || a.body["apiKey"] != nil ||
						!strings.Contains(fmt.Sprint(a.body["message"]), "rotated by another request") {
						t.Errorf("409 answer %v", a.body)
					}
				default:
					t.Errorf("rotation answered %d %v, want 200 or 409", a.code, a.body)
				}
			}
			if len(won) != 1 {
				t.Fatalf("%d of %d concurrent rotations answered 200 with a key (%d answers: %v); exactly one may", len(won), n, len(answers), answers)
			}
			for key, want := range map[string]int{won[0]: 200, testKey: 401, liveKey: 200} {
				if code, _, _ := f.do("GET", "/v1/payments/intents", map[string]string{"X-Api-Key": key}, ""); code != want {
					t.Errorf("key %s…: %d, want %d", key[:12], code, want)
				}
			}
			// Every key record of the merchant's SANDBOX environment: only the winner's.
			var live []string
			iter := f.s.rdb.Scan(t.Context(), 0, f.keys.APIKey("*"), 1000).Iterator()
			for iter.Next(t.Context()) {
				var rec pipeline.APIKeyRecord
				b, _ := f.s.rdb.Get(t.Context(), iter.Val()).Bytes()
				if json.Unmarshal(b, &rec) == nil && rec.MerchantID == m.ID && rec.Environment == pipeline.Sandbox {
					live = append(live, strings.TrimPrefix(iter.Val(), f.keys.APIKey("")))
				}
			}
			if len(live) != 1 || live[0] != ingest.HashSecret(won[0]) {
				t.Fatalf("SANDBOX key records after the race: %v, want only the winner's %s", live, ingest.HashSecret(won[0]))
			}
		})
	}
}
