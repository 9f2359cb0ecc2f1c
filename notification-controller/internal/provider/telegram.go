package provider

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// telegramAPI is the Bot API's base URL, used when the Provider has no
// address.
const telegramAPI = "https://api.telegram.org"

// maxTelegramText is the Bot API's limit on a message, less room for the
// markup around the event text.
const maxTelegramText = 3800

// telegram sends a message through the Bot API's sendMessage method. The bot
// token is part of the URL path, which is why errors never print the URL.
type telegram struct {
	client *http.Client
	url    *url.URL
	chatID string
}

func newTelegram(cfg Config, client *http.Client) (Notifier, error) {
	if cfg.Address == "" {
		cfg.Address = telegramAPI
	}
	u, err := requireAddress(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("telegram provider needs the bot token in the 'token' key of spec.secretRef")
	}
	if cfg.Channel == "" {
		return nil, errors.New("telegram provider needs spec.channel: a chat id or @channelname")
	}
	return &telegram{client: client, url: u.JoinPath("bot"+cfg.Token, "sendMessage"), chatID: cfg.Channel}, nil
}

type telegramMessage struct {
	ChatID                string `json:"chat_id"`
	Text                  string `json:"text"`
	ParseMode             string `json:"parse_mode"`
	DisableWebPagePreview bool   `json:"disable_web_page_preview"`
}

type telegramAnswer struct {
	OK          bool   `json:"ok"`
	Description string `json:"description"`
}

// Post sends the event as an HTML message; every value is escaped, so
// nothing in an event can inject markup.
func (t *telegram) Post(ctx context.Context, e eventv1.Event) error {
	icon := "ℹ️"
	if isError(e) {
		icon = "🚨"
	}
	var b strings.Builder
	b.WriteString(icon + " <b>" + html.EscapeString(headline(e)) + "</b>\n")
	b.WriteString(html.EscapeString(truncate(e.Message, maxTelegramText)) + "\n")
	for _, m := range metadata(e) {
		b.WriteString("\n<b>" + html.EscapeString(m.key) + "</b>: " + html.EscapeString(m.value))
	}
	var answer telegramAnswer
	err := do(ctx, t.client, request{
		url:  t.url,
		body: telegramMessage{ChatID: t.chatID, Text: b.String(), ParseMode: "HTML", DisableWebPagePreview: true},
		into: &answer,
	})
	if err != nil {
		return err
	}
	if !answer.OK {
		return permanent("telegram sendMessage failed: %s", answer.Description)
	}
	return nil
}
