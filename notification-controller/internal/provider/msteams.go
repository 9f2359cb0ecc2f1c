package provider

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// officeConnectorSuffix marks the hosts of the retired Office 365 connector
// webhooks, which only read the legacy MessageCard format; every other
// address (Teams Workflows, Power Automate) gets an Adaptive Card.
const officeConnectorSuffix = ".webhook.office.com"

// msteams posts to a Microsoft Teams webhook.
type msteams struct {
	client    *http.Client
	url       *url.URL
	connector bool
}

func newMSTeams(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(cfg)
	if err != nil {
		return nil, err
	}
	return &msteams{client: client, url: u, connector: strings.HasSuffix(u.Hostname(), officeConnectorSuffix)}, nil
}

// Post sends the event in the format the address understands.
func (m *msteams) Post(ctx context.Context, e eventv1.Event) error {
	var body any
	if m.connector {
		body = messageCardFor(e)
	} else {
		body = adaptiveCardFor(e)
	}
	return do(ctx, m.client, request{url: m.url, body: body})
}

// teamsMessage wraps an Adaptive Card the way Teams webhooks expect it.
type teamsMessage struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string       `json:"contentType"`
	Content     adaptiveCard `json:"content"`
}

type adaptiveCard struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"`
	Version string         `json:"version"`
	Body    []adaptiveItem `json:"body"`
	MSTeams map[string]any `json:"msteams,omitempty"`
}

// adaptiveItem is a TextBlock or a FactSet.
type adaptiveItem struct {
	Type   string         `json:"type"`
	Text   string         `json:"text,omitempty"`
	Weight string         `json:"weight,omitempty"`
	Size   string         `json:"size,omitempty"`
	Color  string         `json:"color,omitempty"`
	Wrap   bool           `json:"wrap,omitempty"`
	Facts  []adaptiveFact `json:"facts,omitempty"`
}

type adaptiveFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// adaptiveCardFor formats the event as a card: a coloured headline, the
// message, and the metadata as facts.
func adaptiveCardFor(e eventv1.Event) teamsMessage {
	color := "Good"
	if isError(e) {
		color = "Attention"
	}
	body := []adaptiveItem{
		{Type: "TextBlock", Text: headline(e), Weight: "Bolder", Size: "Medium", Color: color, Wrap: true},
		{Type: "TextBlock", Text: truncate(e.Message, maxChatText), Wrap: true},
	}
	if md := metadata(e); len(md) > 0 {
		facts := make([]adaptiveFact, 0, len(md))
		for _, m := range md {
			facts = append(facts, adaptiveFact{Title: m.key, Value: m.value})
		}
		body = append(body, adaptiveItem{Type: "FactSet", Facts: facts})
	}
	return teamsMessage{
		Type: "message",
		Attachments: []teamsAttachment{{
			ContentType: "application/vnd.microsoft.card.adaptive",
			Content: adaptiveCard{
				Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
				Type:    "AdaptiveCard",
				Version: "1.4",
				Body:    body,
				MSTeams: map[string]any{"width": "Full"},
			},
		}},
	}
}

// messageCard is the legacy connector format.
type messageCard struct {
	Type       string               `json:"@type"`
	Context    string               `json:"@context"`
	ThemeColor string               `json:"themeColor"`
	Summary    string               `json:"summary"`
	Sections   []messageCardSection `json:"sections"`
}

type messageCardSection struct {
	ActivityTitle    string            `json:"activityTitle"`
	ActivitySubtitle string            `json:"activitySubtitle"`
	Text             string            `json:"text"`
	Facts            []messageCardFact `json:"facts,omitempty"`
	Markdown         bool              `json:"markdown"`
}

type messageCardFact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func messageCardFor(e eventv1.Event) messageCard {
	color := strings.TrimPrefix(colorInfo, "#")
	if isError(e) {
		color = strings.TrimPrefix(colorError, "#")
	}
	section := messageCardSection{
		ActivityTitle:    objectName(e),
		ActivitySubtitle: e.Reason,
		Text:             truncate(e.Message, maxChatText),
	}
	for _, m := range metadata(e) {
		section.Facts = append(section.Facts, messageCardFact{Name: m.key, Value: m.value})
	}
	return messageCard{
		Type:       "MessageCard",
		Context:    "https://schema.org/extensions",
		ThemeColor: color,
		Summary:    headline(e),
		Sections:   []messageCardSection{section},
	}
}
