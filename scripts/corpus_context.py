"""Prompts that carry a pasted text: an instruction before or after a document, written for this project.

Real users paste an email, a review, an article or a chat log and say what to do with it. The same documents
appear under every task here, so the classifier learns that the words of the document say little and the
instruction says what the task is; without them, a long prompt looked like a code or maths problem (the only
long prompts in the corpus were HumanEval docstrings and GSM8K word problems).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

DOCS = [
    "Hi Sarah, thanks for the quick turnaround on the proposal. The client liked the timeline but wants the "
    "budget under 40k, and they asked whether we can start on the 3rd instead of the 10th. Can you check with "
    "Marco about the design hours? Let's talk tomorrow at 11. Best, Tom",
    "I ordered the blue running jacket in size M and it arrived two weeks late. The fabric feels cheap, the zip "
    "got stuck on the second day and customer service never answered my emails. The colour is nice though, "
    "exactly like the photos. Would not buy again.",
    "The city will close Elm Street between 5th and 9th Avenue from June 2 to August 30 to replace a 90-year-old "
    "water main. Buses 12 and 40 will be rerouted along Oak Street. Residents can still reach their driveways, "
    "and the farmers market will move to the library parking lot for the summer.",
    "Meeting notes, Thursday. Present: Ana, Raj, Li, Peter. 1) Website launch moved to May 14 because the payment "
    "page failed testing. Raj owns the fix. 2) Marketing budget approved at 12,000. 3) Li will hire a part-time "
    "designer. 4) Next meeting: Monday 9 am. Open question: who handles the press release?",
    "Person 1: hey, are you free this weekend?\nPerson 2: Saturday is packed but Sunday works\nPerson 1: brunch "
    "at Luna's around 11?\nPerson 2: make it 11:30, I have yoga\nPerson 1: perfect, see you there",
    "Senior Data Analyst, remote (EU time zones). You will build dashboards in Tableau, write SQL against our "
    "Postgres warehouse and present findings to product teams. Requirements: 4+ years of analytics experience, "
    "strong SQL, Python or R, and clear communication. Salary 65-80k EUR, 30 days of holiday.",
    "Researchers in Denmark followed 1,200 office workers for two years. Those who took a ten minute walk after "
    "lunch reported better focus in the afternoon and slept 20 minutes longer on average, although the authors "
    "note that the walkers were also younger and more likely to cycle to work.",
    "Ingredients: 2 cups flour, 1 tsp baking soda, half a cup of butter, 1 cup brown sugar, 2 eggs, 3 ripe bananas, "
    "a pinch of salt. Mash the bananas, mix with melted butter and sugar, beat in the eggs, fold in the flour, "
    "soda and salt, and bake at 175 C for about an hour.",
    "Our app helps small restaurants manage bookings, staff rotas and stock in one place. Owners save around six "
    "hours a week, and the waitlist feature cut no-shows by a third in our pilot with twelve cafes in Leeds. We "
    "charge 49 pounds a month, with a free first month and no contract.",
    "Speaker A: I think we should raise the membership fee, the gym equipment is getting old. Speaker B: But half "
    "our members are students, they'll just leave. Speaker A: Then we add a student rate. Speaker B: Fine, but "
    "let's survey the members before we decide anything.",
    "Ode to my old bicycle: rust on your chain and a squeak in your bell, you carried me up every hill in town, "
    "through rain and summer dust, and never once complained when I forgot to oil you.",
    "Tenant: Jordan Miles. Property: 14B Harbour View, Portsmouth. Rent: 1,150 GBP per month, due on the 1st. "
    "Term: 12 months from 1 October 2024. Deposit: 1,300 GBP held with the deposit protection scheme. Pets are "
    "allowed with written consent. Either party may end the agreement with two months' notice after month six.",
    "The Battle of Hastings in 1066 ended Anglo-Saxon rule in England. William of Normandy defeated King Harold, "
    "who died on the battlefield, and the Norman conquest reshaped the language, the law and the aristocracy of "
    "the country for centuries.",
    "Q3 update: sales 1.8M (up 9%), gross margin 41%, customer support tickets down 15% after the new help "
    "centre. Risks: one large client is reconsidering its contract, and shipping costs rose again in September.",
    "So basically I've been at this company three years, my manager keeps promising a promotion and it never "
    "happens, and now a friend offered me a job at her startup with less pay but more responsibility. I have a "
    "mortgage and a kid on the way.",
    "Transcript (00:00) Welcome back to the channel. Today we're talking about how to keep houseplants alive in "
    "winter: less water, more light, no cold drafts, and why you should stop repotting in December. (04:12) First, "
    "watering. Most plants die from too much water, not too little.",
]

INSTRUCTIONS: dict[str, list[str]] = {
    "summarize": [
        "Summarize this.", "Give me a short summary of the text below.", "What's the gist of this?",
        "Sum this up in two sentences.", "Write a brief summary for someone who has no time to read it.",
        "Condense this into three bullet points.", "tl;dr", "What are the key points here?",
        "Describe the content of this text in a brief manner.", "Give me the short version.",
        "Write a one-line summary of the following.", "Recap the main points below for my team.",
    ],
    "extract": [
        "List all the names, dates and amounts that appear in the text.", "Extract the key facts as JSON.",
        "Classify the sentiment of this text as positive, negative or mixed.", "Which category does this belong "
        "to: work, personal, news or shopping?", "Based on the text, who is responsible for what?",
        "Answer using only the text: what dates are mentioned?", "Pull out every number and what it refers to.",
        "Is this text a complaint, a request or an announcement? Answer with one word.", "Put the facts from "
        "this text into a table.", "According to the passage, what happened and when?", "Identify the people "
        "and places mentioned below.", "Does the text mention a price? If so, quote it.",
    ],
    "creative": [
        "Rewrite this in a friendlier tone.", "Turn this into a short poem.", "Make this sound more professional.",
        "Rewrite the text below as a LinkedIn post.", "Write a funny reply to this.", "Translate this into French.",
        "Turn this into a story for children.", "Rewrite this as a catchy ad.", "Proofread and polish this text.",
        "Rewrite this from the point of view of someone else in it.", "Write a tweet based on this.",
        "Write a heartfelt response to the message below.", "Make this more persuasive.",
    ],
    "chat": [
        "What do you think about this?", "Explain this to me like I'm twelve.", "Is what this says true?",
        "What should I do here?", "Any advice?", "Why would someone write this?", "What does this mean for me?",
        "Do you agree with this? Why or why not?", "Tell me more about the topic this is about.",
        "Give me some tips related to this.", "How would you react if you got this?",
    ],
    "reasoning": [
        "Check whether the numbers in this add up and show the calculation.", "Is the reasoning in this text "
        "logically sound? Point out any fallacy.", "Using the figures below, work out the totals step by step.",
        "Weigh the options described here and decide which is better, with your reasoning.",
        "Based on these facts, estimate how much this would cost over five years.",
    ],
    "code": [
        "Write a Python function that parses text like this into a dictionary.", "Write a regex that finds all "
        "the dates in text like the one below.", "Write a SQL table definition that could store this.",
        "Write a JavaScript snippet that displays this on a web page.",
    ],
}

LAYOUTS = ["{instr}\n\n{doc}", "{doc}\n\n{instr}", "{instr}\n{doc}", "{instr}: {doc}", "Text: {doc}\n\n{instr}",
           "{instr}\n\n\"{doc}\"", "You are given a text. {instr}\n\n{doc}"]


def expand(per_task: int, seed: int) -> Iterator[tuple[str, str, str]]:
    """(prompt, task, template id): `per_task` distinct prompts for each task, one template id per task."""
    rng = random.Random(seed)
    for task, instructions in INSTRUCTIONS.items():
        seen: set[str] = set()
        for _ in range(per_task * 4):
            if len(seen) >= per_task:
                break
            text = rng.choice(LAYOUTS).format(instr=rng.choice(instructions), doc=rng.choice(DOCS))
            if text not in seen:
                seen.add(text)
                yield text, task, f"ctx-{task}"
