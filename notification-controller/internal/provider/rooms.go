package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// webexAPI is the Webex messages endpoint, used when the Provider has no
// address.
const webexAPI = "https://webexapis.com/v1/messages"

// maxRoomText bounds the message of the room-style chats (Webex allows 7439
// bytes, Zulip 10000, Matrix 65 KB per event); one limit keeps them simple.
const maxRoomText = 7000

// markdownFor is the message the Markdown chats (Webex, Matrix, Lark, Zulip)
// show: an icon and the object in bold, the message, then one line per
// metadata entry, in a stable order.
func markdownFor(e eventv1.Event) string {
	icon := "✅"
	if isError(e) {
		icon = "🚨"
	}
	var b strings.Builder
	b.WriteString(icon + " **" + headline(e) + "**\n")
	b.WriteString(truncate(e.Message, maxRoomText) + "\n")
	for _, m := range metadata(e) {
		b.WriteString("\n**" + m.key + "**: " + m.value)
	}
	return b.String()
}

// webex posts to a room (spec.channel holds the room id) as the bot whose
// access token is the Secret's token.
type webex struct {
	client *http.Client
	url    *url.URL
	roomID string
	token  string
}

func newWebex(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(addressOr(cfg, webexAPI))
	if err != nil {
		return nil, err
	}
	if cfg.Channel == "" {
		return nil, errors.New("webex provider needs the room id in spec.channel")
	}
	if err := requireToken(cfg); err != nil {
		return nil, err
	}
	return &webex{client: client, url: u, roomID: cfg.Channel, token: cfg.Token}, nil
}

// Post sends the Markdown message.
func (w *webex) Post(ctx context.Context, e eventv1.Event) error {
	return do(ctx, w.client, request{url: w.url,
		body:    map[string]string{"roomId": w.roomID, "markdown": markdownFor(e)},
		headers: map[string]string{"Authorization": "Bearer " + w.token}})
}

// matrix sends an m.room.message to the room in spec.channel on the
// homeserver in the address, with the access token from the Secret.
type matrix struct {
	client *http.Client
	base   *url.URL
	roomID string
	token  string
}

func newMatrix(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Channel == "" {
		return nil, errors.New("matrix provider needs the room id in spec.channel")
	}
	if err := requireToken(cfg); err != nil {
		return nil, err
	}
	return &matrix{client: client, base: u, roomID: cfg.Channel, token: cfg.Token}, nil
}

// Post PUTs the message with a transaction id derived from the event, so a
// retried delivery of the same event is deduplicated by the homeserver
// instead of shown twice.
func (m *matrix) Post(ctx context.Context, e eventv1.Event) error {
	data, err := json.Marshal(e)
	if err != nil {
		return permanent("encoding the event: %w", err)
	}
	sum := sha256.Sum256(data)
	u := m.base.JoinPath("_matrix", "client", "v3", "rooms", m.roomID, "send", "m.room.message", hex.EncodeToString(sum[:16]))
	return do(ctx, m.client, request{method: http.MethodPut, url: u,
		body:    map[string]string{"msgtype": "m.text", "body": markdownFor(e)},
		headers: map[string]string{"Authorization": "Bearer " + m.token}})
}

// lark posts an interactive card to a Lark (Feishu) custom bot webhook; the
// webhook address is the credential.
type lark struct {
	client *http.Client
	url    *url.URL
}

func newLark(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(cfg)
	if err != nil {
		return nil, err
	}
	return &lark{client: client, url: u}, nil
}

type larkText struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

type larkCard struct {
	Config struct {
		WideScreenMode bool `json:"wide_screen_mode"`
	} `json:"config"`
	Header struct {
		Title    larkText `json:"title"`
		Template string   `json:"template"`
	} `json:"header"`
	Elements []larkElement `json:"elements"`
}

type larkElement struct {
	Tag  string   `json:"tag"`
	Text larkText `json:"text"`
}

// larkAnswer is the bot API's answer: HTTP 200 with a non-zero code on
// failure.
type larkAnswer struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// Post sends a card with a red header for errors and a turquoise one
// otherwise, as Flux's cards look.
func (l *lark) Post(ctx context.Context, e eventv1.Event) error {
	var card larkCard
	card.Config.WideScreenMode = true
	card.Header.Title = larkText{Tag: "plain_text", Content: headline(e)}
	card.Header.Template = "turquoise"
	if isError(e) {
		card.Header.Template = "red"
	}
	var b strings.Builder
	b.WriteString(truncate(e.Message, maxRoomText))
	for _, m := range metadata(e) {
		b.WriteString("\n**" + m.key + "**: " + m.value)
	}
	card.Elements = []larkElement{{Tag: "div", Text: larkText{Tag: "lark_md", Content: b.String()}}}
	var answer larkAnswer
	if err := do(ctx, l.client, request{url: l.url, body: map[string]any{"msg_type": "interactive", "card": card}, into: &answer}); err != nil {
		return err
	}
	if answer.Code != 0 {
		return permanent("lark webhook refused the message: %s", answer.Msg)
	}
	return nil
}

// zulip posts to a stream and topic (spec.channel "<stream>/<topic>") as the
// bot whose email is the username and whose API key is the password.
type zulip struct {
	client     *http.Client
	url        *url.URL
	stream     string
	topic      string
	user, pass string
}

func newZulip(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(cfg)
	if err != nil {
		return nil, err
	}
	stream, topic, ok := strings.Cut(cfg.Channel, "/")
	if !ok || stream == "" || topic == "" {
		return nil, errors.New("zulip provider needs spec.channel in the form <stream>/<topic>")
	}
	if cfg.Username == "" || cfg.Password == "" {
		return nil, errors.New("zulip provider needs the bot's email in 'username' and its API key in 'password' of spec.secretRef")
	}
	return &zulip{client: client, url: &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/api/v1/messages"},
		stream: stream, topic: topic, user: cfg.Username, pass: cfg.Password}, nil
}

// Post sends the message form-encoded, which is what Zulip's API takes.
func (z *zulip) Post(ctx context.Context, e eventv1.Event) error {
	form := url.Values{"type": {"stream"}, "to": {z.stream}, "topic": {z.topic}, "content": {markdownFor(e)}}
	return doRaw(ctx, z.client, request{url: z.url, user: z.user, pass: z.pass,
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
		strings.NewReader(form.Encode()))
}
