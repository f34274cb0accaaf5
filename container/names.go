package container

import (
	"fmt"
	"math/rand/v2"
)

// Generated names are an adjective and a pioneer of computing or of the
// ideas containers are made of, as Docker names its containers.
var (
	adjectives = []string{
		"brave", "calm", "clever", "eager", "fervent", "gentle", "happy", "jolly",
		"keen", "lucid", "nifty", "quirky", "serene", "sharp", "tender", "vigilant",
		"wizardly", "zealous", "bold", "crisp", "dreamy", "elegant", "frosty", "humble",
	}
	pioneers = []string{
		"babbage", "lovelace", "turing", "hopper", "ritchie", "thompson", "kernighan",
		"torvalds", "knuth", "dijkstra", "hamilton", "liskov", "lamport", "mccarthy",
		"perlman", "cerf", "kahn", "wirth", "backus", "allen", "goldwasser", "hoare",
		"engelbart", "shannon", "vonneumann", "pike", "bellard", "mcilroy",
	}
)

// generateName returns a name that taken does not report as used. After a
// few collisions it appends a digit, as Docker does.
func generateName(taken func(string) bool) string {
	for i := 0; ; i++ {
		name := adjectives[rand.IntN(len(adjectives))] + "_" + pioneers[rand.IntN(len(pioneers))]
		if i > 10 {
			name += fmt.Sprint(rand.IntN(10))
		}
		if !taken(name) {
			return name
		}
	}
}
