package provider

import (
	"context"
	"net/http"
	"net/url"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// googleChat posts a card message to a Google Chat space webhook.
type googleChat struct {
	client *http.Client
	url    *url.URL
}

func newGoogleChat(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(cfg)
	if err != nil {
		return nil, err
	}
	return &googleChat{client: client, url: u}, nil
}

// chatMessage is a Google Chat message holding one version 2 card.
type chatMessage struct {
	CardsV2 []chatCardWithID `json:"cardsV2"`
}

type chatCardWithID struct {
	CardID string   `json:"cardId"`
	Card   chatCard `json:"card"`
}

type chatCard struct {
	Header   chatHeader    `json:"header"`
	Sections []chatSection `json:"sections"`
}

type chatHeader struct {
	Title    string `json:"title"`
	Subtitle string `json:"subtitle"`
}

type chatSection struct {
	Header  string       `json:"header,omitempty"`
	Widgets []chatWidget `json:"widgets"`
}

// chatWidget is a text paragraph or a labelled value.
type chatWidget struct {
	TextParagraph *chatText      `json:"textParagraph,omitempty"`
	DecoratedText *chatDecorated `json:"decoratedText,omitempty"`
}

type chatText struct {
	Text string `json:"text"`
}

type chatDecorated struct {
	TopLabel string `json:"topLabel"`
	Text     string `json:"text"`
}

// Post sends the card: the object and reason in the header, the message in a
// paragraph and the metadata as labelled values.
func (g *googleChat) Post(ctx context.Context, e eventv1.Event) error {
	card := chatCard{
		Header:   chatHeader{Title: objectName(e), Subtitle: e.Severity + ": " + e.Reason},
		Sections: []chatSection{{Widgets: []chatWidget{{TextParagraph: &chatText{Text: truncate(e.Message, maxChatText)}}}}},
	}
	if md := metadata(e); len(md) > 0 {
		s := chatSection{Header: "Metadata"}
		for _, m := range md {
			s.Widgets = append(s.Widgets, chatWidget{DecoratedText: &chatDecorated{TopLabel: m.key, Text: m.value}})
		}
		card.Sections = append(card.Sections, s)
	}
	msg := chatMessage{CardsV2: []chatCardWithID{{CardID: "flux-event", Card: card}}}
	return do(ctx, g.client, request{url: g.url, body: msg})
}
