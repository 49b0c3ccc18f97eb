//! Short templated report pages (weather, markets, sports results) written from a
//! vocabulary of about 200 words: the kind of stream whose shared words and sentences
//! make every article resemble thousands of others (story terms, MinHash bands).

/// splitmix64: the same page for the same number on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len() as u64) as usize]
    }
}

const CITIES: &[&str] = &[
    "Lisbon", "Porto", "Madrid", "Seville", "Lyon", "Paris", "Berlin", "Munich", "Vienna",
    "Prague", "Warsaw", "Oslo", "Dublin", "Leeds", "Glasgow", "Milan", "Naples", "Athens", "Cairo",
    "Tunis",
];
const WEEKDAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const SKIES: &[&str] = &[
    "sunny", "cloudy", "overcast", "foggy", "clear", "stormy", "windy", "humid", "dry", "showery",
    "snowy", "misty",
];
const DIRECTIONS: &[&str] = &["north", "south", "east", "west", "northwest", "southeast"];
const PARTS: &[&str] = &["morning", "afternoon", "evening", "night"];
const AREAS: &[&str] = &["coast", "valley", "hills", "centre", "suburbs", "region"];
const INDICES: &[&str] = &["FTSE", "DAX", "CAC", "IBEX", "Nikkei", "Dow", "Nasdaq"];
const SECTORS: &[&str] = &[
    "banking",
    "energy",
    "mining",
    "technology",
    "retail",
    "airline",
    "insurance",
    "property",
    "telecom",
    "pharmaceutical",
];
const MOVES: &[&str] = &["rose", "fell", "climbed", "slipped", "gained", "dropped"];
const TRENDS: &[&str] = &[
    "rallied",
    "retreated",
    "steadied",
    "recovered",
    "weakened",
    "advanced",
];
const ACTIONS: &[&str] = &["held", "raised", "cut", "reviewed"];
const TEAMS: &[&str] = &[
    "United",
    "City",
    "Rovers",
    "Athletic",
    "Wanderers",
    "Albion",
    "Rangers",
    "Celtic",
    "Dynamo",
    "Sporting",
    "Olympic",
    "Racing",
    "Real",
    "Union",
    "Town",
    "County",
];
const RESULTS: &[&str] = &["beat", "drew with", "lost to", "edged", "thrashed"];
const PLAYERS: &[&str] = &[
    "Silva", "Costa", "Moreau", "Keller", "Novak", "Rossi", "Murphy", "Haddad", "Larsen", "Garcia",
];
const MINUTES: &[&str] = &["first", "second", "final", "opening"];

/// Title and paragraphs of report `i`, the same for the same `i`.
pub fn report(i: usize) -> (String, Vec<String>) {
    let mut r = Rng::new(i as u64);
    let n = |r: &mut Rng, lo: u64, hi: u64| lo + r.below(hi - lo + 1);
    let mut paragraphs = Vec::new();
    let title = match i % 3 {
        0 => {
            let city = r.pick(CITIES);
            let day = r.pick(WEEKDAYS);
            let sky = r.pick(SKIES);
            let hi = n(&mut r, 5, 39);
            for _ in 0..n(&mut r, 4, 6) {
                let s = match r.below(4) {
                    0 => format!(
                        "Forecasters in {city} expect {} skies on {day} with temperatures between {} and {hi} degrees.",
                        r.pick(SKIES), n(&mut r, 0, 20)
                    ),
                    1 => format!(
                        "Winds from the {} will reach {} kilometres per hour in the {}, easing by the {}.",
                        r.pick(DIRECTIONS), n(&mut r, 5, 90), r.pick(PARTS), r.pick(PARTS)
                    ),
                    2 => format!(
                        "Rain is likely in the {} with {} millimetres expected across the {} and {} near the {}.",
                        r.pick(PARTS), n(&mut r, 1, 60), r.pick(AREAS), n(&mut r, 1, 30), r.pick(AREAS)
                    ),
                    _ => format!(
                        "The weather service said {} conditions would last until {} in the {}, with humidity at {} percent.",
                        r.pick(SKIES), r.pick(WEEKDAYS), r.pick(AREAS), n(&mut r, 20, 99)
                    ),
                };
                paragraphs.push(s);
            }
            format!("{city} weather for {day}: {sky}, high of {hi} degrees")
        }
        1 => {
            let index = r.pick(INDICES);
            let mv = r.pick(MOVES);
            let sector = r.pick(SECTORS);
            let (a, b) = (n(&mut r, 0, 4), n(&mut r, 0, 99));
            for _ in 0..n(&mut r, 4, 6) {
                let s = match r.below(4) {
                    0 => format!(
                        "The {index} index {mv} {a}.{b:02} percent to {} points on {}, led by {} stocks.",
                        n(&mut r, 3000, 40000), r.pick(WEEKDAYS), r.pick(SECTORS)
                    ),
                    1 => format!(
                        "Traders said {} companies {} after the central bank {} rates at {}.{} percent.",
                        r.pick(SECTORS), r.pick(TRENDS), r.pick(ACTIONS), n(&mut r, 0, 6), n(&mut r, 0, 9)
                    ),
                    2 => format!(
                        "Shares of {} firms {} {} percent while {} groups {} in late trading.",
                        r.pick(SECTORS), r.pick(MOVES), n(&mut r, 1, 12), r.pick(SECTORS), r.pick(TRENDS)
                    ),
                    _ => format!(
                        "Volume reached {} million shares, and the {} {} {} points against the {}.",
                        n(&mut r, 100, 999), r.pick(INDICES), r.pick(MOVES), n(&mut r, 10, 500), r.pick(INDICES)
                    ),
                };
                paragraphs.push(s);
            }
            format!("{index} {mv} {a}.{b:02} percent as {sector} shares move")
        }
        _ => {
            let home = r.pick(TEAMS);
            let away = r.pick(TEAMS);
            let result = r.pick(RESULTS);
            let (g1, g2) = (n(&mut r, 0, 6), n(&mut r, 0, 6));
            let city = r.pick(CITIES);
            for _ in 0..n(&mut r, 4, 6) {
                let s = match r.below(4) {
                    0 => format!(
                        "{home} scored {g1} goals against {away} in front of {} fans at the {city} stadium on {}.",
                        n(&mut r, 1000, 80000), r.pick(WEEKDAYS)
                    ),
                    1 => format!(
                        "{} opened the scoring in the {} half after {} minutes, and {} added another before the break.",
                        r.pick(PLAYERS), r.pick(MINUTES), n(&mut r, 2, 45), r.pick(PLAYERS)
                    ),
                    2 => format!(
                        "The result leaves {home} {} points clear with {} games left, while {away} sit in place {}.",
                        n(&mut r, 1, 15), n(&mut r, 1, 20), n(&mut r, 2, 20)
                    ),
                    _ => format!(
                        "{} was shown a card in the {} half, and the coach said the team {} in the {}.",
                        r.pick(PLAYERS), r.pick(MINUTES), r.pick(TRENDS), r.pick(PARTS)
                    ),
                };
                paragraphs.push(s);
            }
            format!("{home} {result} {away} {g1}-{g2} in {city}")
        }
    };
    (title, paragraphs)
}
