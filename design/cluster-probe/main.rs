//! Probe: what consumer-group features does a Kafka-protocol broker (tansu) support, as seen
//! through rdkafka 0.39 / librdkafka 2.12.1 (the versions newsriver's Kafka sink uses)?
//!
//! `probe-tansu run [a b c d e f g]` starts `tansu broker` on a free 127.0.0.1 port with
//! memory storage (binary: $TANSU, else ~/.cargo/bin/tansu), runs the checks, prints every
//! consumer event with its time relative to the start of the check, a RESULT line per
//! check, and kills the broker and all members it started.
//!
//! Each group member is a child process (`probe-tansu member ...`, this same binary), so a
//! crash is a real SIGKILL: no LeaveGroup, no close. The parent talks to a member over its
//! stdin (pause/resume/commit/quit) and reads its events from its stdout.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, RebalanceProtocol,
};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

// ------------------------------------------------------------------------------------------
// Member (child process)
// ------------------------------------------------------------------------------------------

struct Ctx {
    name: String,
}

fn emit(name: &str, kind: &str, detail: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "EV {} {} {} {}", now_ms(), name, kind, detail);
    let _ = out.flush();
}

fn parts(tpl: &TopicPartitionList) -> String {
    let v: Vec<String> = tpl.elements().iter().map(|e| e.partition().to_string()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

impl ClientContext for Ctx {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        if (level as i32) <= (RDKafkaLogLevel::Warning as i32) || std::env::var_os("PROBE_RDKAFKA_DEBUG").is_some() {
            emit(&self.name, "log", &format!("{level:?} {fac} {}", msg.replace('\n', " ")));
        }
    }
    fn error(&self, error: KafkaError, reason: &str) {
        emit(&self.name, "error", &format!("{error} {reason}"));
    }
}

fn proto_name(c: &BaseConsumer<Ctx>) -> &'static str {
    match c.rebalance_protocol() {
        RebalanceProtocol::Cooperative => "Cooperative",
        RebalanceProtocol::Eager => "Eager",
        RebalanceProtocol::None => "None",
    }
}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        let proto = proto_name(c);
        match r {
            Rebalance::Assign(t) => emit(&self.name, "pre-assign", &format!("{proto} {}", parts(t))),
            Rebalance::Revoke(t) => emit(&self.name, "pre-revoke", &format!("{proto} {}", parts(t))),
            Rebalance::Error(e) => emit(&self.name, "rebalance-error", &format!("{e}")),
        }
    }
    fn post_rebalance(&self, c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        let proto = proto_name(c);
        let lost = c.assignment_lost();
        match r {
            Rebalance::Assign(t) => emit(&self.name, "assign", &format!("{proto} {}", parts(t))),
            Rebalance::Revoke(t) => {
                emit(&self.name, "revoke", &format!("{proto} {} lost={lost}", parts(t)))
            }
            Rebalance::Error(_) => {}
        }
    }
}

fn member(args: &[String]) {
    // member BROKERS TOPIC GROUP NAME ASSIGNOR(-=default) INSTANCE(-=none) SESSION_MS
    let (brokers, topic, group, name, assignor, instance, session) = (
        &args[0], &args[1], &args[2], &args[3], &args[4], &args[5], &args[6],
    );
    let session_ms: u64 = session.parse().unwrap();
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("client.id", name)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", session)
        .set("heartbeat.interval.ms", (session_ms / 6).max(500).to_string())
        .set("topic.metadata.refresh.interval.ms", "2000");
    if let Ok(d) = std::env::var("PROBE_RDKAFKA_DEBUG") {
        cc.set("debug", d);
    }
    if assignor != "-" {
        cc.set("partition.assignment.strategy", assignor);
    }
    if instance != "-" {
        cc.set("group.instance.id", instance);
    }
    let consumer: BaseConsumer<Ctx> = cc
        .create_with_context(Ctx { name: name.clone() })
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    emit(name, "started", &format!("assignor={assignor} instance={instance} session={session}"));

    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
        let _ = tx.send("quit".into()); // parent gone: leave
    });
    loop {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            match m {
                Ok(m) => emit(name, "msg", &format!("{} {}", m.partition(), m.offset())),
                Err(e) => emit(name, "poll-error", &format!("{e}")),
            }
        }
        while let Ok(cmd) = rx.try_recv() {
            let w: Vec<&str> = cmd.split_whitespace().collect();
            match w.as_slice() {
                ["quit"] => {
                    let t = Instant::now();
                    drop(consumer); // rdkafka's Drop: rd_kafka_consumer_close_queue + wait
                    emit(name, "closed", &format!("{}ms", t.elapsed().as_millis()));
                    return;
                }
                ["pause", p] | ["resume", p] => {
                    let mut tpl = TopicPartitionList::new();
                    tpl.add_partition(topic, p.parse().unwrap());
                    let r = if w[0] == "pause" {
                        consumer.pause(&tpl)
                    } else {
                        consumer.resume(&tpl)
                    };
                    emit(name, w[0], &format!("{p} {r:?}"));
                }
                ["commit", p, o] => {
                    let mut tpl = TopicPartitionList::new();
                    tpl.add_partition_offset(topic, p.parse().unwrap(), Offset::Offset(o.parse().unwrap()))
                        .unwrap();
                    let r = consumer.commit(&tpl, CommitMode::Sync);
                    emit(name, "commit", &format!("{p} {o} {r:?}"));
                }
                ["committed"] => {
                    let r = consumer.committed(Duration::from_secs(5));
                    let s = match r {
                        Ok(t) => t
                            .elements()
                            .iter()
                            .map(|e| format!("{}={:?}", e.partition(), e.offset()))
                            .collect::<Vec<_>>()
                            .join(","),
                        Err(e) => format!("error {e}"),
                    };
                    emit(name, "committed", &s);
                }
                _ => emit(name, "bad-command", &cmd),
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Parent: broker, members, shared view of events
// ------------------------------------------------------------------------------------------

#[derive(Default)]
struct State {
    /// Current assignment per live member, from its assign/revoke callbacks.
    assign: BTreeMap<String, BTreeSet<i32>>,
    /// (epoch ms, member, kind, detail)
    events: Vec<(u128, String, String, String)>,
    /// member -> (partition, offset) received
    msgs: Vec<(String, i32, i64)>,
    dead: BTreeSet<String>,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

struct Probe {
    brokers: String,
    shared: Shared,
    members: HashMap<String, (Child, ChildStdin)>,
    t0: u128,
    exe: PathBuf,
}

fn parse_set(s: &str) -> BTreeSet<i32> {
    if s == "-" {
        BTreeSet::new()
    } else {
        s.split(',').map(|p| p.parse().unwrap()).collect()
    }
}

impl Probe {
    fn log(&self, msg: &str) {
        println!("[{:>7.3}s] {msg}", (now_ms() - self.t0) as f64 / 1000.0);
    }

    fn reset(&mut self, title: &str) {
        self.stop_all();
        let (m, _) = &*self.shared;
        *m.lock().unwrap() = State::default();
        self.t0 = now_ms();
        println!("\n==================== {title}");
    }

    fn spawn(&mut self, topic: &str, group: &str, name: &str, assignor: &str, inst: &str, session: u32) {
        let mut child = Command::new(&self.exe)
            .args(["member", &self.brokers, topic, group, name, assignor, inst, &session.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn member");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let shared = self.shared.clone();
        let t0 = self.t0;
        let me = name.to_string();
        {
            let (m, _) = &*shared;
            m.lock().unwrap().dead.remove(&me);
        }
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut it = line.splitn(5, ' ');
                if it.next() != Some("EV") {
                    continue;
                }
                let ts: u128 = it.next().unwrap().parse().unwrap();
                let who = it.next().unwrap().to_string();
                let kind = it.next().unwrap().to_string();
                let detail = it.next().unwrap_or("").to_string();
                if kind != "msg" {
                    println!(
                        "[{:>7.3}s]   {who:<4} {kind:<11} {detail}",
                        (ts.saturating_sub(t0)) as f64 / 1000.0
                    );
                }
                let (m, cv) = &*shared;
                let mut st = m.lock().unwrap();
                match kind.as_str() {
                    "assign" => {
                        let mut w = detail.split(' ');
                        let proto = w.next().unwrap();
                        let set = parse_set(w.next().unwrap());
                        let cur = st.assign.entry(who.clone()).or_default();
                        if proto == "Cooperative" {
                            cur.extend(set);
                        } else {
                            *cur = set;
                        }
                    }
                    "revoke" => {
                        let mut w = detail.split(' ');
                        let proto = w.next().unwrap();
                        let set = parse_set(w.next().unwrap());
                        let cur = st.assign.entry(who.clone()).or_default();
                        if proto == "Cooperative" {
                            cur.retain(|p| !set.contains(p));
                        } else {
                            cur.clear();
                        }
                    }
                    "msg" => {
                        let mut w = detail.split(' ');
                        let p = w.next().unwrap().parse().unwrap();
                        let o = w.next().unwrap().parse().unwrap();
                        st.msgs.push((who.clone(), p, o));
                    }
                    _ => {}
                }
                st.events.push((ts, who.clone(), kind, detail));
                cv.notify_all();
            }
            let (m, cv) = &*shared;
            let mut st = m.lock().unwrap();
            st.assign.remove(&me);
            st.dead.insert(me.clone());
            cv.notify_all();
        });
        self.members.insert(name.to_string(), (child, stdin));
        self.log(&format!("spawned {name} (topic={topic} group={group} assignor={assignor} instance={inst} session={session}ms)"));
    }

    fn send(&mut self, name: &str, cmd: &str) {
        let (_, stdin) = self.members.get_mut(name).unwrap();
        writeln!(stdin, "{cmd}").unwrap();
        stdin.flush().unwrap();
    }

    fn kill(&mut self, name: &str) -> u128 {
        let (mut child, _) = self.members.remove(name).unwrap();
        let t = now_ms();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        self.log(&format!("SIGKILL {name} (pid {})", child.id()));
        t
    }

    fn quit(&mut self, name: &str) -> u128 {
        let t = now_ms();
        self.send(name, "quit");
        let (mut child, _) = self.members.remove(name).unwrap();
        let st = child.wait().unwrap();
        self.log(&format!("{name} closed gracefully and exited ({st})"));
        t
    }

    fn stop_all(&mut self) {
        let names: Vec<String> = self.members.keys().cloned().collect();
        for n in names {
            let (mut c, _) = self.members.remove(&n).unwrap();
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Wait until `f` holds; the time it took, or None on timeout.
    fn wait(&self, secs: u64, f: impl Fn(&State) -> bool) -> Option<Duration> {
        let start = Instant::now();
        let (m, cv) = &*self.shared;
        let mut st = m.lock().unwrap();
        loop {
            if f(&st) {
                return Some(start.elapsed());
            }
            let left = Duration::from_secs(secs).checked_sub(start.elapsed())?;
            st = cv.wait_timeout(st, left.min(Duration::from_millis(200))).unwrap().0;
        }
    }

    fn snapshot(&self) -> BTreeMap<String, BTreeSet<i32>> {
        self.shared.0.lock().unwrap().assign.clone()
    }

    fn events_since(&self, t: u128) -> Vec<(u128, String, String, String)> {
        let st = self.shared.0.lock().unwrap();
        st.events.iter().filter(|e| e.0 >= t && e.2 != "msg").cloned().collect()
    }

    fn create_topic(&self, topic: &str, partitions: i32) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .create()
            .unwrap();
        let nt = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let r = rt.block_on(admin.create_topics([&nt], &AdminOptions::new()));
        self.log(&format!("create topic {topic} partitions={partitions}: {r:?}"));
    }

    fn produce(&self, topic: &str, partitions: &[i32], per_partition: usize) {
        self.produce_as(topic, partitions, per_partition, false)
    }

    /// `single`: flush after every record, so each record is a batch of its own.
    fn produce_as(&self, topic: &str, partitions: &[i32], per_partition: usize, single: bool) {
        let p: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("linger.ms", "0")
            .create()
            .unwrap();
        for &part in partitions {
            for i in 0..per_partition {
                let key = format!("host{part}");
                let payload = format!("{part}-{i}");
                let rec = BaseRecord::to(topic).partition(part).key(&key).payload(&payload);
                p.send(rec).map_err(|(e, _)| e).unwrap();
                if single {
                    p.flush(Duration::from_secs(20)).unwrap();
                }
            }
        }
        p.flush(Duration::from_secs(20)).unwrap();
        self.log(&format!(
            "produced {per_partition} msgs to each of partitions {partitions:?} of {topic} ({})",
            if single { "one record per batch" } else { "batched" }
        ));
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn exact_cover(st: &State, n: i32, members: &[&str]) -> bool {
    let mut seen = BTreeSet::new();
    for m in members {
        let Some(s) = st.assign.get(*m) else { return false };
        if s.is_empty() {
            return false;
        }
        for p in s {
            if !seen.insert(*p) {
                return false;
            }
        }
    }
    // and nobody else holds any
    let others: usize = st
        .assign
        .iter()
        .filter(|(k, _)| !members.contains(&k.as_str()))
        .map(|(_, v)| v.len())
        .sum();
    seen.len() == n as usize && others == 0
}

fn fmt_assign(a: &BTreeMap<String, BTreeSet<i32>>) -> String {
    a.iter().map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join(" ")
}

fn result(id: &str, ok: &str, msg: &str) {
    println!("RESULT {id} {ok}: {msg}");
}

// ------------------------------------------------------------------------------------------
// Checks
// ------------------------------------------------------------------------------------------

const DEFAULT: &str = "-";
const COOP: &str = "cooperative-sticky";

fn check_a(p: &mut Probe) {
    p.reset("(a) 6 partitions, 3 members, default assignor (range,roundrobin)");
    let (t, g) = ("a6", "ga");
    p.create_topic(t, 6);
    for m in ["m1", "m2", "m3"] {
        p.spawn(t, g, m, DEFAULT, "-", 10000);
    }
    let took = p.wait(60, |s| exact_cover(s, 6, &["m1", "m2", "m3"]));
    // Once settled, produce and check every message is consumed once, by the partition's owner.
    std::thread::sleep(Duration::from_secs(3));
    p.produce(t, &[0, 1, 2, 3, 4, 5], 10);
    std::thread::sleep(Duration::from_secs(4));
    let snap = p.snapshot();
    let st = p.shared.0.lock().unwrap();
    let mut by: BTreeMap<(i32, i64), Vec<String>> = BTreeMap::new();
    for (m, part, o) in &st.msgs {
        by.entry((*part, *o)).or_default().push(m.clone());
    }
    let dup = by.values().filter(|v| v.len() > 1).count();
    let wrong = st.msgs.iter().filter(|(m, part, _)| !snap.get(m).map(|a| a.contains(part)).unwrap_or(false)).count();
    let n = by.len();
    drop(st);
    match took {
        Some(d) if exact_cover(&p.shared.0.lock().unwrap(), 6, &["m1", "m2", "m3"]) => result(
            "a",
            "PASS",
            &format!(
                "each of 6 partitions assigned to exactly one member {:.1}s after spawning 3: {}; then 60 msgs produced: {n}/60 distinct consumed, {dup} by >1 member, {wrong} by a non-owner",
                d.as_secs_f64(),
                fmt_assign(&snap)
            ),
        ),
        _ => result("a", "FAIL", &format!("no exact cover within 60s: {}", fmt_assign(&snap))),
    }
}

fn check_b(p: &mut Probe) {
    p.reset("(b) 6 partitions, cooperative-sticky: join m1, m2, m3, then m2 leaves");
    let (t, g) = ("b6", "gb");
    p.create_topic(t, 6);
    let mut notes = vec![];
    let mut ok = true;

    p.spawn(t, g, "m1", COOP, "-", 10000);
    let d1 = p.wait(60, |s| exact_cover(s, 6, &["m1"]));
    notes.push(format!("m1 alone owns 6 after {:?}", d1.map(|d| d.as_secs_f64())));
    ok &= d1.is_some();

    for (joiner, members) in [("m2", vec!["m1", "m2"]), ("m3", vec!["m1", "m2", "m3"])] {
        let before = p.snapshot();
        let t_join = now_ms();
        p.spawn(t, g, joiner, COOP, "-", 10000);
        let ms = members.clone();
        let d = p.wait(60, move |s| exact_cover(s, 6, &ms));
        std::thread::sleep(Duration::from_secs(3));
        let after = p.snapshot();
        // Sticky/incremental: every existing member kept a subset of what it had, only lost
        // partitions (never got a full revoke of everything then re-assign), the joiner only gained.
        let mut moved_ok = true;
        for (m, had) in &before {
            let now = after.get(m).cloned().unwrap_or_default();
            if !now.is_subset(had) {
                moved_ok = false;
            }
        }
        let evs = p.events_since(t_join);
        let full_revokes = evs
            .iter()
            .filter(|e| e.2 == "revoke" && before.get(&e.1).map(|h| parse_set(e.3.split(' ').nth(1).unwrap()) == *h && h.len() > 1).unwrap_or(false))
            .count();
        let protos: BTreeSet<String> = evs
            .iter()
            .filter(|e| e.2 == "assign" || e.2 == "revoke")
            .map(|e| e.3.split(' ').next().unwrap().to_string())
            .collect();
        notes.push(format!(
            "{joiner} joins: exact cover after {:?}s, before {{{}}} after {{{}}}, protocols seen {protos:?}, survivors kept subsets={moved_ok}, full revokes={full_revokes}",
            d.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
            fmt_assign(&before),
            fmt_assign(&after)
        ));
        ok &= d.is_some() && moved_ok && full_revokes == 0 && protos == BTreeSet::from(["Cooperative".to_string()]);
    }

    // m2 leaves gracefully: its partitions go to m1/m3, which must not lose any.
    let before = p.snapshot();
    let t_leave = p.quit("m2");
    let d = p.wait(60, |s| exact_cover(s, 6, &["m1", "m3"]));
    std::thread::sleep(Duration::from_secs(3));
    let after = p.snapshot();
    let mut kept = true;
    for m in ["m1", "m3"] {
        if !before[m].is_subset(after.get(m).unwrap_or(&BTreeSet::new())) {
            kept = false;
        }
    }
    let revokes = p
        .events_since(t_leave)
        .iter()
        .filter(|e| e.2 == "revoke" && e.1 != "m2" && !e.3.contains(" - "))
        .count();
    notes.push(format!(
        "m2 leaves (close): m1+m3 cover 6 after {:?}s, before {{{}}} after {{{}}}, survivors kept theirs={kept}, survivor revokes={revokes}",
        d.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
        fmt_assign(&before),
        fmt_assign(&after)
    ));
    ok &= d.is_some() && kept && revokes == 0;
    result("b", if ok { "PASS" } else { "FAIL/PARTLY" }, &notes.join(" | "));
}

fn check_c(p: &mut Probe, graceful: bool) {
    let id = if graceful { "c2" } else { "c1" };
    let how = if graceful { "closed (no LeaveGroup for static members)" } else { "SIGKILLed" };
    p.reset(&format!("({id}) static membership, session 10s: m2 {how} and restarted after 2s"));
    let (t, g) = (format!("{id}6"), format!("g{id}"));
    p.create_topic(&t, 6);
    for (m, i) in [("m1", "inst-1"), ("m2", "inst-2"), ("m3", "inst-3")] {
        p.spawn(&t, &g, m, COOP, i, 10000);
    }
    let d = p.wait(60, |s| exact_cover(s, 6, &["m1", "m2", "m3"]));
    std::thread::sleep(Duration::from_secs(3));
    let before = p.snapshot();
    if d.is_none() {
        result(id, "FAIL", &format!("no initial exact cover: {}", fmt_assign(&before)));
        return;
    }
    let t_down = if graceful { p.quit("m2") } else { p.kill("m2") };
    std::thread::sleep(Duration::from_secs(2));
    let t_up = now_ms();
    p.spawn(&t, &g, "m2", COOP, "inst-2", 10000);
    let had = before["m2"].clone();
    let had2 = had.clone();
    let back = p.wait(30, move |s| s.assign.get("m2") == Some(&had2));
    // Watch past the session timeout for a delayed rebalance of the others.
    std::thread::sleep(Duration::from_secs(14));
    let after = p.snapshot();
    let others: Vec<_> = p
        .events_since(t_down)
        .into_iter()
        .filter(|e| e.1 != "m2" && (e.2 == "assign" || e.2 == "revoke" || e.2 == "pre-assign" || e.2 == "pre-revoke"))
        .collect();
    let others_s: Vec<String> = others
        .iter()
        .map(|e| format!("{}@{:.1}s {} {}", e.1, (e.0 - t_down) as f64 / 1000.0, e.2, e.3))
        .collect();
    let ok = back.is_some() && others.is_empty() && after == before;
    result(
        id,
        if ok { "PASS" } else if back.is_some() { "PARTLY" } else { "FAIL" },
        &format!(
            "before {{{}}}; m2 {how}, restarted 2s later with same group.instance.id: got {had:?} back {:?}s after restart (m2 down {:.1}s total); after 14s more {{{}}}; rebalance callbacks on m1/m3 since m2 went down: {:?}",
            fmt_assign(&before),
            back.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
            (t_up - t_down) as f64 / 1000.0 + back.map(|d| d.as_secs_f64()).unwrap_or(0.0),
            fmt_assign(&after),
            others_s
        ),
    );
}

fn check_d(p: &mut Probe, session: u32, static_ids: bool, victim: &str, assignor: &str) {
    let id = format!(
        "d-{}{}-{victim}{}",
        session / 1000,
        if static_ids { "-static" } else { "" },
        if assignor == COOP { "" } else { "-eager" }
    );
    p.reset(&format!("({id}) 3 members ({assignor}, session {session}ms, static={static_ids}), SIGKILL {victim} (m1 joined first)"));
    let t = format!("t{}", id.replace('-', ""));
    let g = format!("g{}", id.replace('-', ""));
    p.create_topic(&t, 6);
    for (m, i) in [("m1", "i1"), ("m2", "i2"), ("m3", "i3")] {
        p.spawn(&t, &g, m, assignor, if static_ids { i } else { "-" }, session);
        std::thread::sleep(Duration::from_millis(300));
    }
    let d = p.wait(60, |s| exact_cover(s, 6, &["m1", "m2", "m3"]));
    std::thread::sleep(Duration::from_secs(3));
    let before = p.snapshot();
    if d.is_none() {
        result(&id, "FAIL", &format!("no initial cover {}", fmt_assign(&before)));
        return;
    }
    let t_kill = p.kill(victim);
    let surv: Vec<&'static str> = ["m1", "m2", "m3"].into_iter().filter(|m| *m != victim).collect();
    let took = p.wait(session as u64 / 1000 * 4 + 30, move |s| exact_cover(s, 6, &surv));
    let after = p.snapshot();
    let since_kill = took.map(|_| {
        let st = p.shared.0.lock().unwrap();
        st.events.iter().filter(|e| e.2 == "assign" && e.0 >= t_kill).map(|e| e.0).max().unwrap_or(t_kill) - t_kill
    });
    result(
        &id,
        if took.is_some() { "PASS" } else { "FAIL" },
        &format!(
            "before {{{}}}; {victim} SIGKILLed; survivors own all 6 after {:?}s (last assign callback {:?}s after kill; session.timeout.ms={session}): {{{}}}",
            fmt_assign(&before),
            took.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
            since_kill.map(|ms| ms as f64 / 1000.0),
            fmt_assign(&after)
        ),
    );
}

fn first_offsets(p: &Probe, who: &str) -> BTreeMap<i32, i64> {
    let st = p.shared.0.lock().unwrap();
    let mut f = BTreeMap::new();
    for (m, part, o) in &st.msgs {
        if m == who {
            f.entry(*part).or_insert(*o);
        }
    }
    f
}

fn count_msgs(p: &Probe, who: &str) -> BTreeMap<i32, usize> {
    let st = p.shared.0.lock().unwrap();
    let mut f = BTreeMap::new();
    for (m, part, _) in &st.msgs {
        if m == who {
            *f.entry(*part).or_insert(0) += 1;
        }
    }
    f
}

fn check_e(p: &mut Probe, single: bool) {
    let id = if single { "e-single" } else { "e-batched" };
    p.reset(&format!("({id}) manual commit of specific offsets (CommitMode::Sync), new member resumes"));
    let (t, g) = (format!("t{}", id.replace('-', "")), format!("g{}", id.replace('-', "")));
    let (t, g) = (t.as_str(), g.as_str());
    p.create_topic(t, 3);
    p.produce_as(t, &[0, 1, 2], 20, single);
    p.spawn(t, g, "m1", COOP, "-", 10000);
    let got = p.wait(60, |s| s.msgs.iter().filter(|m| m.0 == "m1").count() >= 60);
    if got.is_none() {
        result(id, "FAIL", &format!("m1 consumed only {:?}", count_msgs(p, "m1")));
        return;
    }
    // "highest offset below which everything is done": next offset to read = 10 on p0, 5 on p1; p2 none.
    let t_c = now_ms();
    p.send("m1", "commit 0 10");
    p.send("m1", "commit 1 5");
    p.send("m1", "committed");
    p.wait(20, move |s| s.events.iter().any(|e| e.0 >= t_c && e.2 == "committed"));
    let commit_evs: Vec<String> = p
        .events_since(t_c)
        .iter()
        .filter(|e| e.2 == "commit" || e.2 == "committed")
        .map(|e| format!("{} {}", e.2, e.3))
        .collect();
    p.quit("m1");
    p.spawn(t, g, "m2", COOP, "-", 10000);
    let got2 = p.wait(60, |s| s.msgs.iter().filter(|m| m.0 == "m2").count() >= 10 + 15 + 20);
    std::thread::sleep(Duration::from_secs(2));
    let first = first_offsets(p, "m2");
    let counts = count_msgs(p, "m2");
    let ok = got2.is_some() && first.get(&0) == Some(&10) && first.get(&1) == Some(&5) && first.get(&2) == Some(&0);
    result(
        id,
        if ok { "PASS" } else { "FAIL" },
        &format!(
            "m1 read 60 msgs (20/partition), committed {commit_evs:?}, closed; new member m2 in same group started at offsets {first:?} (expected {{0: 10, 1: 5, 2: 0}}), msgs per partition {counts:?}, got them within {:?}s",
            got2.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0)
        ),
    );
}

fn check_f(p: &mut Probe) {
    p.reset("(f) pause partition 0 of 3 while 1,2 keep flowing, then resume");
    let (t, g) = ("f3", "gf");
    p.create_topic(t, 3);
    p.spawn(t, g, "m1", COOP, "-", 10000);
    let d = p.wait(60, |s| exact_cover(s, 3, &["m1"]));
    if d.is_none() {
        result("f", "FAIL", "m1 never got 3 partitions");
        return;
    }
    std::thread::sleep(Duration::from_secs(2));
    p.send("m1", "pause 0");
    std::thread::sleep(Duration::from_millis(500));
    p.produce(t, &[0, 1, 2], 10);
    let flowing = p.wait(30, |s| {
        let c = |q| s.msgs.iter().filter(|m| m.1 == q).count();
        c(1) >= 10 && c(2) >= 10
    });
    std::thread::sleep(Duration::from_secs(3));
    let during = count_msgs(p, "m1");
    let t_r = Instant::now();
    p.send("m1", "resume 0");
    let resumed = p.wait(30, |s| s.msgs.iter().filter(|m| m.1 == 0).count() >= 10);
    let after = count_msgs(p, "m1");
    let ok = flowing.is_some() && during.get(&0).copied().unwrap_or(0) == 0 && resumed.is_some();
    result(
        "f",
        if ok { "PASS" } else { "FAIL" },
        &format!(
            "p0 paused, 10 msgs produced to each partition: p1+p2 delivered in {:?}s, counts 3s later {during:?} (p0 must be absent); after resume p0's 10 arrived in {:?}s (total {after:?}; resume->done {:.2}s)",
            flowing.map(|d| (d.as_secs_f64() * 100.0).round() / 100.0),
            resumed.map(|d| (d.as_secs_f64() * 100.0).round() / 100.0),
            t_r.elapsed().as_secs_f64()
        ),
    );
}

fn check_g(p: &mut Probe, session: u32, static_ids: bool, assignor: &str) {
    let id = format!(
        "g-{}{}{}",
        session / 1000,
        if static_ids { "-static" } else { "" },
        if assignor == COOP { "" } else { "-eager" }
    );
    p.reset(&format!("({id}) 1-partition topic, 2 members (owner + standby), SIGKILL the owner"));
    let t = format!("t{}", id.replace('-', ""));
    let g = format!("g{}", id.replace('-', ""));
    p.create_topic(&t, 1);
    p.produce(&t, &[0], 10);
    p.spawn(&t, &g, "m1", assignor, if static_ids { "owner-a" } else { "-" }, session);
    let d = p.wait(60, |s| s.assign.get("m1").map(|a| a.contains(&0)).unwrap_or(false));
    if d.is_none() {
        result(&id, "FAIL", "m1 never got p0");
        return;
    }
    p.spawn(&t, &g, "m2", assignor, if static_ids { "owner-b" } else { "-" }, session);
    std::thread::sleep(Duration::from_secs(8));
    let both = p.snapshot();
    let single = both.get("m1").map(|a| a.len()) == Some(1) && both.get("m2").map(|a| a.is_empty()).unwrap_or(true);
    p.wait(20, |s| s.msgs.iter().filter(|m| m.0 == "m1").count() >= 10);
    p.send("m1", "commit 0 7");
    let tc = now_ms();
    p.wait(20, move |s| s.events.iter().any(|e| e.0 >= tc && e.2 == "commit"));
    std::thread::sleep(Duration::from_millis(300));
    let t_kill = p.kill("m1");
    let took = p.wait(session as u64 / 1000 * 4 + 30, |s| s.assign.get("m2").map(|a| a.contains(&0)).unwrap_or(false));
    std::thread::sleep(Duration::from_secs(2));
    let first = first_offsets(p, "m2");
    let _ = t_kill;
    result(
        &id,
        if single && took.is_some() && first.get(&0) == Some(&7) { "PASS" } else if single && took.is_some() { "PARTLY" } else { "FAIL" },
        &format!(
            "with both up: {{{}}} (only one owner: {single}); owner committed 7 then SIGKILLed; standby m2 got p0 after {:?}s (session.timeout.ms={session}), resumed at offset {:?}",
            fmt_assign(&both),
            took.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
            first.get(&0)
        ),
    );
}

// ------------------------------------------------------------------------------------------

struct Broker(Child);
impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(which: &[String]) {
    let bin = std::env::var_os("TANSU")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo/bin/tansu"));
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let url = format!("tcp://{addr}");
    let log_path = std::env::var("BROKER_LOG").unwrap_or_else(|_| "/tmp/probe-tansu-broker.log".into());
    let log = std::fs::File::create(&log_path).unwrap();
    let version = Command::new(&bin).arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    // PROBE_STORAGE: e.g. sqlite://tansu.db (in PROBE_BROKER_DIR, default the current dir).
    let storage = std::env::var("PROBE_STORAGE").unwrap_or_else(|_| "memory://tansu/".into());
    let dir = std::env::var("PROBE_BROKER_DIR").unwrap_or_else(|_| ".".into());
    println!("storage {storage} (dir {dir})");
    let broker = Broker(
        Command::new(&bin)
            .current_dir(&dir)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url, "--storage-engine", &storage])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start tansu"),
    );
    println!(
        "broker {bin:?} {version:?} pid {} on {addr}, log {log_path}; librdkafka {:?}",
        broker.0.id(),
        rdkafka::util::get_rdkafka_version()
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "broker not up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut p = Probe {
        brokers: addr,
        shared: Arc::new((Mutex::new(State::default()), Condvar::new())),
        members: HashMap::new(),
        t0: now_ms(),
        exe: std::env::current_exe().unwrap(),
    };
    let all: Vec<String> = ["a", "b", "c", "d", "e", "f", "g"].iter().map(|s| s.to_string()).collect();
    let which = if which.is_empty() { &all[..] } else { which };
    for w in which {
        match w.as_str() {
            "a" => check_a(&mut p),
            "b" => check_b(&mut p),
            "c" => {
                check_c(&mut p, false);
                check_c(&mut p, true);
            }
            "d" => {
                check_d(&mut p, 6000, false, "m3", COOP);
                check_d(&mut p, 10000, false, "m3", COOP);
                check_d(&mut p, 10000, true, "m3", COOP);
            }
            "dl" => {
                check_d(&mut p, 6000, false, "m1", COOP);
                check_d(&mut p, 6000, false, "m1", DEFAULT);
                check_d(&mut p, 6000, false, "m3", DEFAULT);
            }
            "e" => {
                check_e(&mut p, false);
                check_e(&mut p, true);
            }
            "f" => check_f(&mut p),
            "g" => {
                check_g(&mut p, 6000, false, COOP);
                check_g(&mut p, 6000, true, COOP);
                check_g(&mut p, 6000, false, DEFAULT);
            }
            other => println!("unknown check {other}"),
        }
    }
    p.stop_all();
    drop(broker);
    println!("\nbroker and members stopped");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("member") => member(&args[1..]),
        Some("run") => run(&args[1..]),
        _ => eprintln!("usage: probe-tansu run [a b c d e f g] | member ..."),
    }
}
