package provider

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// slackPostMessage is Slack's Web API method for bots; it is used when the
// Provider has a token and no address.
const slackPostMessage = "https://slack.com/api/chat.postMessage"

// maxChatText keeps message bodies under the limits of Slack, Discord and
// Rocket.Chat, which reject or silently cut longer texts.
const maxChatText = 3500

// slackMessage is a Slack message with one attachment; Discord's
// Slack-compatible endpoint and Rocket.Chat's incoming webhooks read the same
// shape.
type slackMessage struct {
	Channel     string            `json:"channel,omitempty"`
	Username    string            `json:"username,omitempty"`
	Alias       string            `json:"alias,omitempty"`
	Text        string            `json:"text,omitempty"`
	Attachments []slackAttachment `json:"attachments"`
}

type slackAttachment struct {
	Fallback   string       `json:"fallback,omitempty"`
	Color      string       `json:"color"`
	AuthorName string       `json:"author_name"`
	Title      string       `json:"title"`
	Text       string       `json:"text"`
	MrkdwnIn   []string     `json:"mrkdwn_in,omitempty"`
	Fields     []slackField `json:"fields,omitempty"`
	Footer     string       `json:"footer,omitempty"`
	Ts         int64        `json:"ts,omitempty"`
}

type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

// slackAttachmentFor formats the event: the object as author, the reason as
// title, the message as text and the metadata as fields.
func slackAttachmentFor(e eventv1.Event) slackAttachment {
	color := colorInfo
	if isError(e) {
		color = colorError
	}
	a := slackAttachment{
		Fallback:   headline(e),
		Color:      color,
		AuthorName: objectName(e),
		Title:      e.Reason,
		Text:       truncate(e.Message, maxChatText),
		Footer:     e.ReportingController,
	}
	if !e.Timestamp.IsZero() {
		a.Ts = e.Timestamp.Unix()
	}
	for _, m := range metadata(e) {
		a.Fields = append(a.Fields, slackField{Title: m.key, Value: m.value, Short: len(m.value) < 40})
	}
	return a
}

// slack posts to an incoming webhook, or to chat.postMessage with a bot
// token, which answers 200 even on failure and reports it in "ok".
type slack struct {
	client   *http.Client
	url      *url.URL
	token    string
	channel  string
	username string
}

func newSlack(cfg Config, client *http.Client) (Notifier, error) {
	if cfg.Token != "" && cfg.Address == "" {
		cfg.Address = slackPostMessage
	}
	u, err := requireAddress(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Token != "" && cfg.Channel == "" {
		return nil, errors.New("slack provider with a bot token needs spec.channel")
	}
	return &slack{client: client, url: u, token: cfg.Token, channel: cfg.Channel, username: cfg.Username}, nil
}

// slackAPIAnswer is the part of a Web API answer that reports failure.
type slackAPIAnswer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// Post sends the message.
func (s *slack) Post(ctx context.Context, e eventv1.Event) error {
	msg := slackMessage{Channel: s.channel, Username: s.username, Attachments: []slackAttachment{slackAttachmentFor(e)}}
	if s.token == "" {
		return do(ctx, s.client, request{url: s.url, body: msg})
	}
	msg.Attachments[0].MrkdwnIn = []string{"text"}
	var answer slackAPIAnswer
	err := do(ctx, s.client, request{
		url:     s.url,
		body:    msg,
		headers: map[string]string{"Authorization": "Bearer " + s.token, "Content-Type": "application/json; charset=utf-8"},
		into:    &answer,
	})
	if err != nil {
		return err
	}
	if !answer.OK {
		return permanent("slack chat.postMessage failed: %s", answer.Error)
	}
	return nil
}

// discord posts the Slack-shaped message to the "/slack" endpoint every
// Discord webhook has.
type discord struct {
	client   *http.Client
	url      *url.URL
	username string
}

func newDiscord(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(cfg)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, "/slack") {
		u = u.JoinPath("slack")
	}
	return &discord{client: client, url: u, username: cfg.Username}, nil
}

// Post sends the message.
func (d *discord) Post(ctx context.Context, e eventv1.Event) error {
	msg := slackMessage{Username: d.username, Attachments: []slackAttachment{slackAttachmentFor(e)}}
	return do(ctx, d.client, request{url: d.url, body: msg})
}

// rocket posts to a Rocket.Chat incoming webhook, which takes the display
// name as "alias".
type rocket struct {
	client   *http.Client
	url      *url.URL
	channel  string
	username string
}

func newRocket(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(cfg)
	if err != nil {
		return nil, err
	}
	return &rocket{client: client, url: u, channel: cfg.Channel, username: cfg.Username}, nil
}

// Post sends the message.
func (r *rocket) Post(ctx context.Context, e eventv1.Event) error {
	a := slackAttachmentFor(e)
	a.Fallback, a.Footer, a.Ts = "", "", 0
	msg := slackMessage{Channel: r.channel, Alias: r.username, Text: headline(e), Attachments: []slackAttachment{a}}
	return do(ctx, r.client, request{url: r.url, body: msg})
}
