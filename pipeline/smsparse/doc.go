// Package smsparse reads the wallet SMS that merchants' Android phones forward (bKash, Nagad,
// Rocket, Upay) and says whether one is a customer payment the merchant may accept. It is pure:
// no I/O, no clock, no globals that change; Parse and ParseFrom are safe for concurrent use, never
// panic on any input (fuzzed) and read at most MaxTextBytes.
//
// # Supported formats
//
// The wordings are those of testdata/sms_samples.jsonl; labels are matched case-insensitively
// and with or without the spaces between words and fields ("Amt:Tk 200", "Tk900.00Fee:Tk15.00").
//
//   - bKash: "You have received Tk X from 01…" (send money), "You have received payment Tk X from
//     01…" (merchant payment), "You have received Tk X from <Name>" (business), "… deposit of Tk X
//     from <Bank>", cash in/out (both sides), send money, B2B transfer, "Payment of Tk X to <M> is
//     successful", bill payment, mobile recharge, the failed send money notice, OTP. Fields:
//     "Ref <text>" (also glued ".Ref", empty "Ref ."), "Fee Tk", "Balance Tk", "TrxID <10>",
//     "at dd/mm/yyyy hh:mm".
//   - Nagad: label blocks "Money Received." / "Payment Received." / "Cash In Received." /
//     "B2B Received." / "Add Money from Bank" / "Refund from <M>" / "Payment to '<M>' is
//     Successful" / "Your request for <bill> is accepted" with Amount|Amt, Sender|Customer|Uddokta|
//     From, Ref, TxnID|TxnId|TrnxID <8>, Fee, Balance|Bal and a "dd/mm/yyyy hh:mm" line; the same
//     flattened onto one line; cashback/gift; cancelled payment; "OTP/Code:".
//   - Rocket: "Tk280.00 received from A/C:***033 … TxnId:<10 digits> Date:29-MAY-26 10:26:24 pm",
//     the "Ref No:/NetBal:" variant, cash-out to/from A/C.
//   - Upay: "Tk. 900.00 has been received from 01…", "Received Payment of Tk.1.00 from 01…",
//     "You have received Cash-out of Tk. …", "TrxID <10>" (a ULID prefix).
//
// Before matching, the text is normalised: CRLF/CR to LF, non-breaking and other Unicode spaces to
// one space, zero-width and bidi marks removed, full-width ASCII and Bengali/Arabic-Indic digits to
// ASCII, and Cyrillic/Greek letters that look like Latin ones folded to them (so "74HΝΕΚΟ8" with
// Greek capitals reads 74HNEKO8). Anything still non-ASCII never makes a TrxID.
//
// Values: amounts are integer paisa read with pipeline.ParseGroupedMoney — commas as 3-digit or lakh
// groups, at most two decimals, > 0 (fees and balances may be 0), at most pipeline.MaxMoney — and
// are null when malformed ("Tk 1,2", "Tk 0.61425", "Tk 500.00.5"). A TrxID must have its
// provider's shape (bKash and Upay 10, Nagad 8 upper-case letters or digits; Rocket 10 digits; an
// unknown provider 6–20), may be followed directly by a word the samples glue to it ("…8Bat",
// "…1111Date"), and is null when masked ("XXXXX"), too short or long, lower-case or non-ASCII. The
// counterparty is a mobile number as 01XXXXXXXXX, a masked account as written ("***456"), null when
// fully masked, else a name cut at the next field with trailing sentence dots removed. Reference is
// null when absent, empty ("Ref .", "Ref-.") or N/A/NA/None/-. The timestamp is the first date at
// or after the TrxID label (so a promo's date before it is skipped), in Asia/Dhaka (fixed +06:00);
// a date without a time of day gives null rather than midnight, because a made-up instant would
// mislead the matcher's time window: the caller uses the forwarder's receive time instead.
//
// # What the payer writes decides nothing
//
// The Ref is typed by the payer and a counterparty name chosen by a business: before anything is
// decided, the parser finds the provider's sentence, locates these spans by the provider's format
// (spans.go: a span runs to the provider's last TrxID label, minus the provider's own fields
// written between them, e.g. bKash's ". Fee Tk F. Balance Tk B." when the TrxID is followed by its
// date) and masks them. Kind, direction, provider, the failure notice, amount, fee, balance, TrxID
// and time are read from the masked text only; the Ref and the name from their own span, so a Ref
// "x. Balance Tk 99,999.00. TrxID ABCDEFGHIJ" reads back whole and changes no field. Outside the
// spans, two different values for one label (fee, balance, amount, TrxID) refuse the field.
// Known limit: a Ref that ends in exactly the provider fields a format leaves out, before a TrxID
// followed by its date, cannot be told from them (no supported format has such a gap: bKash and
// Rocket write both Fee and Balance after a Ref or neither, with the date only in the full form).
//
// # When an SMS pays
//
// Result.Pays is true only when all of these hold:
//
//   - the event is money a customer sent: a person-to-person receipt (bKash received_send_money,
//     Nagad money_received, Rocket/Upay received) or a merchant payment (received_merchant_payment,
//     payment_received_merchant, merchant_payment_received). Business disbursements
//     (received_from_business), bank deposits, remittances, B2B, cash in, cash out, refunds and
//     cashback are credits (Direction "credit") that do not pay an order: they are not a customer
//     paying, and accepting them would let the merchant's own top-ups settle intents;
//   - it is not a failure or reversal notice ("unsuccessful", "failed", "returned", "reversed",
//     "cancelled" anywhere in the text outside the payer's spans — conservative: such a text never
//     pays even with a TrxID);
//   - the provider is known and the amount and TrxID are well formed;
//   - for ParseFrom, the sender is trusted for that provider (Options.TrustedSenders).
//
// Parse judges the content only and is for tools (the CLI without --from); ingest uses ParseFrom.
// Suggested handling in ingest: Pays → report Payment(); SenderTrusted false → store and count as
// suspicious; trusted but Kind unknown, or one of the six customer-payment kinds above that does
// not pay (masked or malformed TrxID or amount) → store for review; anything else (outgoing, OTP,
// promo, cash-out, other credits) → store as classified.
//
// Kind uses the samples' vocabulary, which names the same event differently per provider (see the
// Kind constants); decide with Pays and Direction.
package smsparse
