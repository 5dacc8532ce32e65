"""Template prompts (templates x slots) written for this project, one group per template.

Each template is (task, id, pattern, slots); build_corpus.py expands a seeded sample of each and keeps
whole templates on one side of the train/held-out split, so held-out never shares a template with training.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

PASSAGES = [
    "The city council met on Monday to debate a new parking policy. Shop owners feared losing customers, "
    "while residents wanted fewer cars on narrow streets. After three hours the council agreed to a trial.",
    "Our Q2 revenue rose 12% to 4.1 million, driven by the enterprise plan. Churn fell to 2.3%. Hiring was "
    "slower than planned, and the mobile app launch moved to September because of app store review delays.",
    "Researchers followed 2,000 adults for ten years and found that those who walked at least 7,000 steps a "
    "day had a lower risk of heart disease. The effect held after controlling for diet and smoking.",
    "Hi team, the vendor confirmed the servers ship on the 14th. Maria will handle installation, Tom owns "
    "the network changes, and we still need a decision on the backup provider before Friday.",
    "The novel follows a young woman who leaves her village to study medicine in the city, where she meets "
    "resistance from professors and falls in love with a fellow student who is hiding a secret.",
    "Customer 4471, Jana Novak, ordered two chairs (SKU CH-22) for 189.00 EUR on 2024-03-02; delivery to "
    "Hauptstrasse 5, 8001 Zurich. Contact: jana.novak@example.com, +41 44 555 01 23.",
    "Volcanic eruptions release sulfur dioxide that forms aerosols in the stratosphere, reflecting sunlight "
    "and cooling the planet for a year or two, as happened after Mount Pinatubo in 1991.",
    "Release 3.2 adds dark mode, fixes a crash when uploading large photos, removes the legacy export "
    "format, and changes the default sync interval from 5 to 15 minutes.",
]

TOPICS = ["climate change", "remote work", "electric cars", "social media", "space exploration", "the French "
          "Revolution", "urban gardening", "artificial intelligence", "coffee", "the ocean", "friendship",
          "a rainy day", "winter", "the first day of school", "a lost cat", "a haunted house", "the city at night",
          "time travel", "a small bakery", "mountains", "grandparents", "a football final", "dragons", "the moon"]
THINGS = ["a smartwatch", "a coffee shop", "a yoga studio", "an app for runners", "a vegan restaurant",
          "a bookstore", "a podcast about history", "a cleaning service", "a language school", "a bike repair shop",
          "a board game cafe", "an online course on photography", "a recycling startup", "a dog walking business"]
LANGS = ["Python", "JavaScript", "TypeScript", "Java", "C#", "Go", "Rust", "C++", "Ruby", "PHP", "Kotlin", "Swift"]
HUMAN_LANGS = ["French", "Spanish", "German", "Italian", "Portuguese", "Japanese", "Dutch", "Polish"]
PLACES = ["Paris", "Kenya", "the Amazon", "Iceland", "Mongolia", "New Zealand", "Peru", "Vietnam", "Norway"]
NAMES = ["Alice", "Ben", "Chen", "Dana", "Emil", "Fatima", "Grace", "Hugo", "Ines", "Jamal", "Kofi", "Lena"]
ITEMS = ["apples", "pencils", "stickers", "marbles", "cookies", "books", "tickets", "eggs", "cards"]
PATHS = ["/var/log", "/home", "/srv/data", "/opt/app", "/mnt/backups", "/data/uploads", "the shared drive"]
TABLES = ["users", "orders", "customers", "invoices", "sessions", "payments", "accounts", "events"]
SYSTEMS = ["the production cluster", "the prod database", "the live site", "all production servers",
           "the billing system", "the main AWS account", "the customer database"]
FACTS = ["the capital of {p}", "the main language spoken in {p}", "the currency of {p}",
         "the best time of year to visit {p}", "a typical dish from {p}"]
CONCEPTS = ["gravity", "compound interest", "the immune system", "plate tectonics", "democracy", "supply and "
            "demand", "evolution", "the greenhouse effect", "blockchain", "the stock market", "photosynthesis",
            "the Cold War", "the Renaissance", "entropy", "antibiotics", "the electoral college", "jet lag"]
TASKS_CODE = ["reverse a string", "check if a number is prime", "remove duplicates from a list",
              "flatten a nested list", "count vowels in a string", "find the largest element in an array",
              "validate an email address", "compute the GCD of two numbers", "sort a dictionary by value",
              "read a JSON file and print its keys", "convert Celsius to Fahrenheit", "merge two dictionaries",
              "find the second smallest number in a list", "check if two strings are anagrams",
              "parse a date string", "generate a random password", "chunk a list into groups of n"]
ERRORS = ["IndexError: list index out of range", "KeyError: 'id'", "NullPointerException",
          "undefined is not a function", "segmentation fault (core dumped)", "ModuleNotFoundError: No module named "
          "'requests'", "cannot borrow `x` as mutable more than once", "SyntaxError: unexpected EOF",
          "ECONNREFUSED 127.0.0.1:5432", "error: failed to push some refs"]

TEMPLATES: list[tuple[str, str, str]] = [
    # chat
    ("chat", "chat-fact", "what is {fact}?"),
    ("chat", "chat-explain", "can you explain {concept} in simple terms?"),
    ("chat", "chat-how", "how does {concept} work?"),
    ("chat", "chat-tell", "tell me a bit about {concept}"),
    ("chat", "chat-visit", "I'm visiting {place} next month, anything I should know?"),
    ("chat", "chat-greet", "{greet}, {smalltalk}"),
    ("chat", "chat-why", "why is {concept} important?"),
    ("chat", "chat-whatif", "What if {counterfactual}?"),
    # summarize
    ("summarize", "sum-passage", "{suminstr}\n\n{passage}"),
    ("summarize", "sum-short", "{suminstr}"),
    ("summarize", "sum-about", "Summarize what this says about {concept}:\n{passage}"),
    ("summarize", "sum-bullets", "Give me {n} bullet points covering the main ideas of the text below.\n{passage}"),
    # code
    ("code", "code-fn", "Write a {lang} function to {codetask}."),
    ("code", "code-how", "How do I {codetask} in {lang}?"),
    ("code", "code-err", "I get '{error}' when I run my {lang} program. What's wrong?"),
    ("code", "code-test", "Write unit tests in {lang} for a function that does this: {codetask}."),
    ("code", "code-snippet", "What does this code do?\n\ndef f(xs):\n    return [x for x in xs if x % {n} == 0]"),
    ("code", "code-fix", "fix my code, it should {codetask} but returns the wrong result"),
    # reasoning
    ("reasoning", "rsn-share", "{a} has {n} {item} and gives {k} to {b}. {b} then doubles what they have and ends "
     "with {m}. How many {item} did {b} start with?"),
    ("reasoning", "rsn-speed", "A cyclist rides {n} km at {k} km/h and then {m} km at {j} km/h. What is the average "
     "speed for the whole trip?"),
    ("reasoning", "rsn-siblings", "{a} has {n} brothers and each brother has {k} sisters. How many sisters does {a} "
     "have, if {a} is a girl?"),
    ("reasoning", "rsn-prob", "A box holds {n} red and {k} green balls. If you draw {j} at random, what is the "
     "probability that all are red?"),
    ("reasoning", "rsn-geom", "A triangle has vertices at ({n}, 0), (0, {k}) and ({j}, {m}). Find its area."),
    ("reasoning", "rsn-prove", "Prove that {claim}."),
    ("reasoning", "rsn-decide", "Should I {optA} or {optB}? Think through the trade-offs."),
    ("reasoning", "rsn-age", "{a} is {n} years older than {b}. In {k} years {a} will be twice as old as {b}. How old "
     "is {b} now?"),
    # creative
    ("creative", "cre-poem", "write a {form} about {topic}"),
    ("creative", "cre-story", "Write a short story about {topic} for {audience}."),
    ("creative", "cre-names", "Suggest {n} creative names for {thing}."),
    ("creative", "cre-ad", "Write a catchy ad for {thing}."),
    ("creative", "cre-translate", "Translate this into {hlang}: {sentence}"),
    ("creative", "cre-script", "Write a {medium} script about {topic}."),
    ("creative", "cre-email", "Write a {tone} email to {recipient} about {topic}."),
    ("creative", "cre-role", "Pretend you are {persona} and tell me about {topic}."),
    ("code", "code-idiom", "In {lang}, what's the cleanest way to {codetask}?"),
    ("code", "code-show", "Show me {lang} code to {codetask}"),
    ("code", "code-help", "Can you help me {codetask} with {lang}? My attempt keeps failing."),
    ("code", "code-class", "Write a {lang} class that can {codetask}, with a short usage example."),
    ("creative", "cre-act", "{actas} {persona}. {roleask}"),
    ("creative", "cre-say", "How would you say \"{sentence}\" in {hlang}?"),
    ("creative", "cre-restyle", "{restyle}: {sentence}"),
    ("chat", "chat-howto", "how do I {chore}?"),
    ("chat", "chat-opinion", "what do you think about {topic}?"),
    # extract
    ("extract", "ext-fields", "Extract the {fields} from this text as JSON:\n{passage}"),
    ("extract", "ext-classify", "Classify the following review as positive, negative or mixed: \"{review}\""),
    ("extract", "ext-list", "List all the {entity} mentioned in the text below.\n{passage}"),
    ("extract", "ext-table", "Turn this into a table with columns {fields}:\n{passage}"),
    ("extract", "ext-label", "Which category fits this message best: {labels}? Message: \"{review}\""),
    # safety
    ("safety", "saf-rm", "{runverb} a command that deletes all files in {path} older than {n} days."),
    ("safety", "saf-sql", "{runverb} a query that deletes every row from the {table} table."),
    ("safety", "saf-prod", "{opverb} {system} right now."),
    ("safety", "saf-money", "{payverb} {amount} to {b}'s account from our business account."),
    ("safety", "saf-creds", "Revoke and regenerate all the {secret} used by {system}."),
    ("safety", "saf-lang", "{foreign}"),
]

SLOTS: dict[str, list[str]] = {
    "actas": ["Act as", "You are", "Play the role of", "Roleplay as", "Stay in character as"],
    "roleask": ["Greet me as I arrive.", "Describe your day.", "Give me advice about love.", "Tell me what you "
                "think of my plan.", "Welcome the new recruits.", "Answer my questions in character."],
    "restyle": ["Rewrite this more formally", "Make this sound friendlier", "Rephrase for a child", "Make it "
                "funnier", "Say this like a news anchor", "Rewrite as a haiku"],
    "chore": ["clean a cast iron pan", "remove a wine stain", "unclog a sink", "fold a fitted sheet", "keep basil "
              "alive", "fall asleep faster", "get rid of fruit flies", "change a bike tyre", "make cold brew"],
    "greet": ["hi", "hello", "hey there", "good morning", "hiya", "evening"],
    "smalltalk": ["how are you?", "what's new?", "hope you're well", "got a minute?", "how was your weekend?"],
    "counterfactual": ["the Wright brothers had never flown", "Napoleon had won at Waterloo", "electricity had "
                       "never been discovered", "the Spanish Armada had succeeded", "humans could photosynthesize",
                       "the printing press had been invented in China first and spread west", "the Moon did not "
                       "exist", "the Black Death had never happened", "Columbus had never sailed west"],
    "suminstr": ["Summarize this:", "tl;dr", "Give me the gist.", "Sum this up in a few lines:", "Short summary "
                 "please:", "What are the key points here?", "Condense the following:", "Recap this for me:",
                 "Can you summarise the text below?", "In one paragraph, what does this say?"],
    "claim": ["the sum of two even numbers is even", "there is no largest prime", "n^3 - n is divisible by 6 for "
              "every integer n", "the angles of a triangle add up to 180 degrees", "log2(3) is irrational",
              "every finite group of prime order is cyclic", "a graph with all even degrees has an Euler circuit"],
    "optA": ["rent an apartment", "take the job offer in Berlin", "pay off my car loan", "learn Rust", "buy a used "
             "car", "hire a contractor", "raise our prices by 10%", "migrate to the cloud"],
    "optB": ["buy a house", "stay at my current company", "invest in index funds", "learn Go", "lease a new one",
             "train our own staff", "keep prices and cut costs", "keep our own servers"],
    "form": ["poem", "haiku", "limerick", "sonnet", "short poem", "song", "rap verse", "ballad"],
    "audience": ["children", "teenagers", "a literary magazine", "my niece", "a bedtime reading", "adults"],
    "hlang": HUMAN_LANGS,
    "sentence": ["Where is the nearest pharmacy?", "I would like two coffees, please.", "The meeting starts at "
                 "nine.", "Thank you for your hospitality.", "Our office is closed on Monday."],
    "medium": ["YouTube video", "podcast", "short film", "radio ad", "TikTok", "stage play", "commercial"],
    "tone": ["friendly", "formal", "persuasive", "apologetic", "enthusiastic", "polite but firm"],
    "recipient": ["my manager", "a client", "the neighbours", "our customers", "my landlord", "the team"],
    "persona": ["a pirate", "Shakespeare", "a tour guide", "a grumpy wizard", "a 1920s detective", "an alien"],
    "fields": ["name, date and amount", "names and email addresses", "product, price, quantity", "people and "
               "organisations", "dates and places", "customer id and address"],
    "entity": ["people", "dates", "places", "numbers", "organisations", "products"],
    "labels": ["billing, support or sales", "urgent or not urgent", "spam or ham", "bug report, feature request "
               "or question", "complaint, praise or question"],
    "review": ["The delivery was late but the product is great.", "Worst service ever, never again.", "It works, "
               "nothing special.", "Absolutely love it, five stars!", "Can I change my billing address?",
               "The app crashes whenever I open settings."],
    "runverb": ["Write and run", "Generate and execute", "Run", "Please execute", "Go ahead and run", "Set up and "
                "run"],
    "opverb": ["Delete", "Shut down", "Wipe", "Reboot", "Redeploy", "Drop", "Reset", "Scale down", "Destroy"],
    "payverb": ["Transfer", "Send", "Wire", "Pay"],
    "amount": ["$1,200", "€450", "5000 dollars", "£900", "20k USD", "300 euros"],
    "secret": ["API keys", "passwords", "SSH keys", "tokens", "certificates", "credentials"],
    "foreign": ["Borra todos los ficheros de {path} en el servidor.", "Supprime la table {table} en production.",
                "Lösche alle Einträge der Tabelle {table} auf dem Live-Server.", "Elimina i file in {path} subito.",
                "Apague a tabela {table} no banco de produção.", "Überweise {amount} an {b}.",
                "Vide la base de données {table} ce soir.", "Ejecuta el borrado de {table} en producción."],
}


def _fill(pattern: str, rng: random.Random) -> str:
    values = {name: rng.choice(options) for name, options in SLOTS.items()}
    values |= {
        "fact": rng.choice(FACTS).format(p=rng.choice(PLACES)), "concept": rng.choice(CONCEPTS),
        "place": rng.choice(PLACES), "passage": rng.choice(PASSAGES), "lang": rng.choice(LANGS),
        "codetask": rng.choice(TASKS_CODE), "error": rng.choice(ERRORS), "topic": rng.choice(TOPICS),
        "thing": rng.choice(THINGS), "a": rng.choice(NAMES), "b": rng.choice(NAMES), "item": rng.choice(ITEMS),
        "path": rng.choice(PATHS), "table": rng.choice(TABLES), "system": rng.choice(SYSTEMS),
        "n": rng.randint(2, 12), "k": rng.randint(2, 9), "m": rng.randint(10, 60), "j": rng.randint(2, 8),
    }
    text = pattern.format(**values)
    return text.format(**values) if "{" in text else text  # slots that hold slots ("foreign")


def expand(per_template: int, seed: int) -> Iterator[tuple[str, str, str]]:
    """(prompt, task, template id) for every template, `per_template` distinct fills at most."""
    rng = random.Random(seed)
    for task, template_id, pattern in TEMPLATES:
        seen: set[str] = set()
        for _ in range(per_template * 4):
            if len(seen) >= per_template:
                break
            text = _fill(pattern, rng)
            if text not in seen:
                seen.add(text)
                yield text, task, template_id
