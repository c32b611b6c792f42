package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/paystream/paystream/pipeline/smsparse"
)

// SMSCmd groups SMS tools.
type SMSCmd struct {
	Parse SMSParseCmd `cmd:"" help:"Parse one wallet SMS from standard input and print what paystream reads from it, as JSON."`
}

// SMSParseCmd parses one SMS text read from standard input.
type SMSParseCmd struct {
	From string `help:"The SMS sender as the phone saw it (bKash, NAGAD, 16216, upay, ...). When given, pays is true only if the sender is the provider's own."`
}

// Run reads standard input (at most smsparse.MaxTextBytes are parsed) and prints one JSON object:
// provider, kind, direction, pays, amount_paisa, trx_id, counterparty, reference, balance_paisa,
// fee_paisa, timestamp.
func (c SMSParseCmd) Run() error {
	b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the SMS from standard input: %w", err)
	}
	var r smsparse.Result
	if c.From != "" {
		r = smsparse.ParseFrom(c.From, string(b), smsparse.DefaultOptions())
	} else {
		r = smsparse.Parse(string(b))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
