package checkout

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/paystream/paystream/ingest"
	"github.com/paystream/paystream/pipeline"
)

// --- language --------------------------------------------------------------------------------

// coLang picks the page language: an explicit choice ("bn" or "en", from ?lang= or the form),
// else the first of Bangla or English in Accept-Language, else English.
func coLang(choice string, ctx *fasthttp.RequestCtx) string {
	if _, ok := coTexts[choice]; ok {
		return choice
	}
	for _, part := range strings.Split(string(ctx.Request.Header.Peek("Accept-Language")), ",") {
		tag, _, _ := strings.Cut(part, ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		switch {
		case tag == "bn" || strings.HasPrefix(tag, "bn-"):
			return "bn"
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			return "en"
		}
	}
	return "en"
}

// dhaka is Bangladesh Standard Time (UTC+6, no daylight saving), without needing tzdata.
var dhaka = time.FixedZone("BST", 6*3600)

// coDigits writes ASCII digits as Bangla digits for lang "bn".
func coDigits(lang, s string) string {
	if lang != "bn" {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '০' + (r - '0')
		}
		return r
	}, s)
}

// coClock formats seconds as m:ss, or h:mm:ss from an hour on.
func coClock(lang string, sec int) string {
	h, m, s := sec/3600, sec%3600/60, sec%60
	if h > 0 {
		return coDigits(lang, fmt.Sprintf("%d:%02d:%02d", h, m, s))
	}
	return coDigits(lang, fmt.Sprintf("%02d:%02d", m, s))
}

// coProvider is what the page says about one wallet provider.
type coProvider struct {
	en, bn     string // display names
	ussd       string // the USSD menu, for phones without the app
	trxWord    string // what the provider's SMS calls the transaction id
	trxLen     int    // its usual length
	digitsOnly bool
	example    string
}

var coProviders = map[pipeline.Provider]coProvider{
	pipeline.BKash:  {en: "bKash", bn: "বিকাশ", ussd: "*247#", trxWord: "TrxID", trxLen: 10, example: "8HJ2XKPQ91"},
	pipeline.Nagad:  {en: "Nagad", bn: "নগদ", ussd: "*167#", trxWord: "TxnID", trxLen: 8, example: "75K92M3Z"},
	pipeline.Rocket: {en: "Rocket", bn: "রকেট", ussd: "*322#", trxWord: "TxnId", trxLen: 10, digitsOnly: true, example: "6578516337"},
	pipeline.Upay:   {en: "Upay", bn: "উপায়", ussd: "*268#", trxWord: "TrxID", trxLen: 10, example: "01K7C8Z24V"},
}

func (p coProvider) name(lang string) string {
	if lang == "bn" {
		return p.bn
	}
	return p.en
}

// hint tells what the provider's transaction ids usually look like.
func (p coProvider) hint(lang string) string {
	if p.en == "" {
		return ""
	}
	if lang == "bn" {
		kind := "অক্ষর ও সংখ্যা"
		if p.digitsOnly {
			kind = "সংখ্যা"
		}
		return fmt.Sprintf("%s-এর %s সাধারণত %sটি %s, যেমন %s।", p.bn, p.trxWord, coDigits("bn", strconv.Itoa(p.trxLen)), kind, p.example)
	}
	kind := "letters and digits"
	if p.digitsOnly {
		kind = "digits"
	}
	return fmt.Sprintf("A %s %s is usually %d %s, such as %s.", p.en, p.trxWord, p.trxLen, kind, p.example)
}

// coMaxRefStep is the longest customer reference the steps ask to type into the wallet app's
// Reference field (longer ones do not fit there).
const coMaxRefStep = 50

// coSteps are the provider's "Send Money" steps.
func coSteps(lang string, p coProvider, wallet, amount, ref string) []coStep {
	showRef := ref != "" && len(ref) <= coMaxRefStep && ingest.Printable(ref)
	if lang == "bn" {
		steps := []coStep{
			{Pre: p.bn + " অ্যাপ খুলে \"সেন্ড মানি\" বেছে নিন (অ্যাপ না থাকলে ডায়াল করুন ", Strong: p.ussd, Post: ")।"},
			{Pre: "এই নম্বরটি দিন: ", Strong: wallet},
			{Pre: "টাকার পরিমাণ লিখুন: ", Strong: "৳" + amount, Post: " (ঠিক এই পরিমাণ)।"},
		}
		if showRef {
			steps = append(steps, coStep{Pre: "রেফারেন্সে লিখুন: ", Strong: ref, Post: " (ঐচ্ছিক)।"})
		}
		return append(steps,
			coStep{Pre: "আপনার " + p.bn + " পিন দিয়ে নিশ্চিত করুন।"},
			coStep{Pre: "কনফার্মেশন SMS থেকে " + p.trxWord + " নিচের ফর্মে লিখে জমা দিন।"},
		)
	}
	steps := []coStep{
		{Pre: "Open the " + p.en + " app and tap \"Send Money\" (no app? dial ", Strong: p.ussd, Post: ")."},
		{Pre: "Enter this number: ", Strong: wallet},
		{Pre: "Enter the amount: ", Strong: "৳" + amount, Post: " (exactly this amount)."},
	}
	if showRef {
		steps = append(steps, coStep{Pre: "In Reference, write ", Strong: ref, Post: " (optional)."})
	}
	return append(steps,
		coStep{Pre: "Confirm with your " + p.en + " PIN."},
		coStep{Pre: "Copy the " + p.trxWord + " from the confirmation SMS into the form below and submit it."},
	)
}

// coText is the page's text in one language.
type coText struct {
	LangName, TitleFmt, PayTo, Order, Sandbox                                string
	TimeLeft, TimeUp, PayBefore, DhakaTime                                   string
	SendToFmt, Copy, Copied, HowTo                                           string
	ClaimTitle, ClaimAgain, TrxLabelFmt, SenderLabel, Submit, Cancel, Footer string
	Checking, Review                                                         string
	PaidTitle, PaidText, FailedTitle, FailedText                             string
	ExpiredTitle, ExpiredText, NotFoundTitle, NotFoundText                   string
	UnavailableTitle, UnavailableText                                        string
	ErrTrxRequired, ErrTrxFormat, ErrSender, ErrTrxUsed                      string
	ErrRateLimitedFmt, ErrUnavailable                                        string
}

var coTexts = map[string]*coText{
	"en": {
		LangName: "English", TitleFmt: "Pay ৳%s to %s", PayTo: "Pay to", Order: "Order",
		Sandbox:  "SANDBOX: a test payment, no real money moves.",
		TimeLeft: "Time left", TimeUp: "Time is up", PayBefore: "Pay before", DhakaTime: "Dhaka time",
		SendToFmt: "Send Money to this %s number", Copy: "Copy", Copied: "Copied", HowTo: "How to pay",
		ClaimTitle: "Paid already? Enter your transaction ID", ClaimAgain: "Typed a wrong transaction ID? Send the right one", TrxLabelFmt: "Transaction ID (%s) from the confirmation SMS",
		SenderLabel: "The number you paid from (optional)", Submit: "Submit", Cancel: "Cancel and return to the shop",
		Footer:    "Never share your PIN or OTP with anyone. Secured by paystream.",
		Checking:  "Thank you! We are checking your payment. This page updates by itself and takes you back to the shop once it is confirmed.",
		Review:    "Your payment is being reviewed. This page updates by itself.",
		PaidTitle: "Payment received", PaidText: "Thank you. You can close this page.",
		FailedTitle: "Payment not completed", FailedText: "This payment was not accepted. Please contact the shop.",
		ExpiredTitle: "This payment link has expired", ExpiredText: "If you already sent money, contact the shop with your transaction ID.",
		NotFoundTitle: "Payment not found", NotFoundText: "This payment link is not valid. Please go back to the shop and try again.",
		UnavailableTitle: "Please try again in a moment", UnavailableText: "We cannot load this payment right now.",
		ErrTrxRequired:    "Please enter the transaction ID from your confirmation SMS.",
		ErrTrxFormat:      "That transaction ID does not look right.",
		ErrSender:         "The number you paid from must be a Bangladeshi mobile number such as 01711111111.",
		ErrTrxUsed:        "This transaction ID was already used for another payment. Please check the SMS and try again.",
		ErrRateLimitedFmt: "Too many attempts. Please wait %s minute(s) and try again.",
		ErrUnavailable:    "We could not record your transaction ID just now. Please try again in a moment.",
	},
	"bn": {
		LangName: "বাংলা", TitleFmt: "৳%s পেমেন্ট করুন — %s", PayTo: "প্রাপক:", Order: "অর্ডার",
		Sandbox:  "স্যান্ডবক্স: পরীক্ষামূলক পেমেন্ট, আসল টাকা লেনদেন হয় না।",
		TimeLeft: "বাকি সময়", TimeUp: "সময় শেষ", PayBefore: "শেষ সময়", DhakaTime: "ঢাকা সময়",
		SendToFmt: "এই %s নম্বরে সেন্ড মানি করুন", Copy: "কপি", Copied: "কপি হয়েছে", HowTo: "কীভাবে পেমেন্ট করবেন",
		ClaimTitle: "পেমেন্ট করেছেন? ট্রানজেকশন আইডি দিন", ClaimAgain: "ভুল ট্রানজেকশন আইডি দিয়েছেন? সঠিকটি পাঠান", TrxLabelFmt: "কনফার্মেশন SMS-এর ট্রানজেকশন আইডি (%s)",
		SenderLabel: "যে নম্বর থেকে পাঠিয়েছেন (ঐচ্ছিক)", Submit: "জমা দিন", Cancel: "বাতিল করে দোকানে ফিরে যান",
		Footer:    "আপনার পিন বা OTP কাউকে জানাবেন না। paystream দ্বারা সুরক্ষিত।",
		Checking:  "ধন্যবাদ! আমরা আপনার পেমেন্ট যাচাই করছি। এই পেজটি নিজে থেকেই আপডেট হবে এবং নিশ্চিত হলে আপনাকে দোকানে ফিরিয়ে নেবে।",
		Review:    "আপনার পেমেন্ট যাচাই করা হচ্ছে। এই পেজটি নিজে থেকেই আপডেট হবে।",
		PaidTitle: "পেমেন্ট সম্পন্ন হয়েছে", PaidText: "ধন্যবাদ। আপনি এই পেজটি বন্ধ করতে পারেন।",
		FailedTitle: "পেমেন্ট সম্পন্ন হয়নি", FailedText: "এই পেমেন্টটি গ্রহণ করা হয়নি। অনুগ্রহ করে দোকানের সাথে যোগাযোগ করুন।",
		ExpiredTitle: "এই পেমেন্ট লিংকের মেয়াদ শেষ", ExpiredText: "টাকা পাঠিয়ে থাকলে ট্রানজেকশন আইডিসহ দোকানের সাথে যোগাযোগ করুন।",
		NotFoundTitle: "পেমেন্ট পাওয়া যায়নি", NotFoundText: "এই পেমেন্ট লিংকটি সঠিক নয়। অনুগ্রহ করে দোকানে ফিরে গিয়ে আবার চেষ্টা করুন।",
		UnavailableTitle: "কিছুক্ষণ পর আবার চেষ্টা করুন", UnavailableText: "এই মুহূর্তে পেমেন্টটি দেখানো যাচ্ছে না।",
		ErrTrxRequired:    "কনফার্মেশন SMS থেকে ট্রানজেকশন আইডি লিখুন।",
		ErrTrxFormat:      "ট্রানজেকশন আইডিটি সঠিক মনে হচ্ছে না।",
		ErrSender:         "যে নম্বর থেকে পাঠিয়েছেন সেটি 01711111111-এর মতো একটি বাংলাদেশি মোবাইল নম্বর হতে হবে।",
		ErrTrxUsed:        "এই ট্রানজেকশন আইডি আগেই অন্য একটি পেমেন্টে ব্যবহার হয়েছে। SMS দেখে আবার চেষ্টা করুন।",
		ErrRateLimitedFmt: "অনেকবার চেষ্টা করা হয়েছে। %s মিনিট পর আবার চেষ্টা করুন।",
		ErrUnavailable:    "এই মুহূর্তে আপনার ট্রানজেকশন আইডি জমা নেওয়া যায়নি। কিছুক্ষণ পর আবার চেষ্টা করুন।",
	},
}
