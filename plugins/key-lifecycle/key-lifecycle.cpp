// SPDX-License-Identifier: Apache-2.0
// key-lifecycle: the life of long-term access keys against what was learned of each key and
// user: a new key used at once from somewhere else, a first key for a keyless user, a dormant key
// waking up.
#include <algorithm>
#include <string>
#include <string_view>
#include <trailhound/baseline.hpp>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {
using namespace trailhound::sdk;
namespace bl = trailhound::baseline;
using util::string_map;

constexpr std::string_view kMagic = "THKL1";
constexpr std::string_view kIam = "iam.amazonaws.com";
constexpr size_t kNetworksPerUser = 16;
constexpr size_t kMaxCreated = 50000;

bool iac_family(std::string_view family) {
  return family == "terraform" || family == "pulumi" || family == "aws-cdk";
}

class key_lifecycle final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "key-lifecycle",
        "1.0.0",
        "Access key lifecycle anomalies",
        "Follows long-term access keys (AKIA...) from creation to use: a key created and used "
        "within use_window from a network its creator and its owner never used, a first key for "
        "a user who never had one, and a key silent for dormancy that is used again.",
        {{"*", "*"}},
        {
            {"use_window", TH_PARAM_DURATION, "\"24h\"",
             "A new key used within this much event time of its creation is checked against its "
             "creator's source.",
             true, 60, 2592000},
            {"dormancy", TH_PARAM_DURATION, "\"30d\"",
             "A key unused for this long and then used again is reported.", true, 86400, 63072000},
            {"warmup", TH_PARAM_DURATION, "\"7d\"",
             "Event time an account must be observed before 'a user who never had a key' can be "
             "judged.",
             true, 0, 31536000},
            {"retention", TH_PARAM_DURATION, "\"400d\"",
             "Keys and users not seen for this long are forgotten (must exceed dormancy).", true,
             86400, 63072000},
            {"max_keys", TH_PARAM_INT, "100000",
             "Most keys remembered; the least recently used are forgotten beyond.", true, 100,
             10000000},
            {"max_users", TH_PARAM_INT, "100000",
             "Most IAM users remembered; the least recently seen are forgotten beyond.", true, 100,
             10000000},
        },
        {
            {"new-key-used-from-elsewhere", severity::high,
             "New access key used at once from another network", "T1098.001,T1078.004",
             "The key returned by CreateAccessKey is used within use_window from a network "
             "(/24, /48) that is not the creator's and that neither the key's owner nor the "
             "creator ever used: the classic persistence move with stolen credentials. Medium when "
             "the creator's source is unknown (console-internal) or the creator is "
             "infrastructure-as-code; low for the same network with another client family."},
            {"first-key-for-user", severity::medium,
             "Access key created for a user who never had one", "T1098.001",
             "After warm-up, CreateAccessKey for an IAM user none of whose keys was ever seen in "
             "use and who had no key created before. Low when the user creates it for itself or "
             "was just created (onboarding)."},
            {"dormant-key-used", severity::medium, "Dormant access key used again", "T1078.004",
             "A long-term key seen before and silent for at least dormancy is used again. High "
             "from a network its owner never used; low when the key has woken from dormancy "
             "before (a periodic job)."},
        },
        /*state_schema_version=*/1};
    return i;
  }

  key_lifecycle(const context& ctx, const config& cfg)
      : detector(ctx),
        use_window_ms_(cfg.get_duration_ms("use_window")),
        dormancy_ms_(cfg.get_duration_ms("dormancy")),
        warmup_ms_(cfg.get_duration_ms("warmup")),
        retention_ms_(cfg.get_duration_ms("retention")),
        max_keys_(static_cast<size_t>(cfg.get_int("max_keys"))),
        max_users_(static_cast<size_t>(cfg.get_int("max_users"))) {}

  void on_event(const event& e) override {
    const int64_t t = e.time_ms();
    std::string_view acct_id =
        e.recipient_account().empty() ? e.principal_account() : e.recipient_account();
    if (acct_id.empty()) return;
    account_state& acct = account(acct_id, t);

    if (util::equals(e.source(), kIam) && e.succeeded()) {
      if (e.name() == "CreateUser") {
        std::string_view u = e.request()["userName"].str();
        if (!u.empty()) user(acct_id, u, t).created_ms = t;
      } else if (e.name() == "CreateAccessKey") {
        on_create_key(e, acct, acct_id);
      }
    }
    if (e.aws_service()) return;

    // Sources of IAM users (keys and console sessions alike).
    std::string_view key = e.access_key_id();
    const bool long_term_key = key.size() > 4 && bl::starts_with(key, "AKIA");
    const bool iam_user = util::equals(e.identity_type(), "IAMUser") && !e.user_name().empty();
    if (!iam_user && !long_term_key) return;  // most events: nothing of ours, no address parsing
    const uint64_t net = public_network(e.source_ip());
    if (!iam_user) {
      use_key(e, key, nullptr, net);
      return;
    }
    user_state& u = user(acct_id, e.user_name(), t);
    if (long_term_key) {
      u.key_seen = true;
      use_key(e, key, &u, net);
    }
    if (net) touch_net(u, net, bl::hour_of(t));
  }

  void on_tick(int64_t now_ms) override {
    for (auto it = created_.begin(); it != created_.end();) {
      if (now_ms > it->second.time_ms + use_window_ms_ + bl::kHourMs)
        it = created_.erase(it);
      else
        ++it;
    }
    if (now_ms - last_ageing_ms_ < bl::kDayMs) return;
    last_ageing_ms_ = now_ms;
    const int64_t cut = now_ms - retention_ms_;
    std::erase_if(keys_, [&](const auto& kv) { return kv.second.last_ms < cut; });
    std::erase_if(users_, [&](const auto& kv) { return kv.second.last_ms < cut; });
    std::erase_if(accounts_, [&](const auto& kv) { return kv.second.last_ms < cut; });
    last_account_ = nullptr;
  }

  std::string save_state() const override {
    bl::writer w;
    w.str().append(kMagic);
    w.u(accounts_.size());
    for (auto& [name, a] : bl::sorted_entries(accounts_)) {
      w.s(*name);
      w.i(a->first_ms);
      w.i(a->last_ms);
    }
    w.u(users_.size());
    for (auto& [k, u] : bl::sorted_entries(users_)) {
      w.u(*k);
      w.i(u->first_ms);
      w.i(u->last_ms);
      w.i(u->created_ms);
      w.u(u->key_seen ? 1 : 0);
      bl::save_recent(w, u->networks);
    }
    w.u(keys_.size());
    for (auto& [k, s] : bl::sorted_entries(keys_)) {
      w.u(*k);
      w.i(s->first_ms);
      w.i(s->last_ms);
      w.u(s->wakeups);
    }
    w.u(created_.size());
    for (auto& [k, c] : bl::sorted_entries(created_)) {
      w.s(*k);
      w.i(c->time_ms);
      w.s(c->event_id);
      w.s(c->creator);
      w.s(c->creator_user_key);
      w.s(c->creator_ip);
      w.u(c->creator_net);
      w.s(c->creator_ua);
      w.s(c->owner);
      w.s(c->account);
    }
    return std::move(w.str());
  }

  void load_state(uint32_t version, std::string_view data) override {
    if (version != 1) bl::reader::fail();
    bl::reader r(data);
    r.expect(kMagic);
    string_map<account_state> accounts;
    for (uint64_t n = r.count(), j = 0; j < n; ++j) {
      std::string name = r.s();
      account_state a;
      a.first_ms = r.i();
      a.last_ms = r.i();
      accounts.emplace(std::move(name), a);
    }
    std::unordered_map<uint64_t, user_state> users;
    for (uint64_t n = r.count(), j = 0; j < n; ++j) {
      uint64_t k = r.u();
      user_state u;
      u.first_ms = r.i();
      u.last_ms = r.i();
      u.created_ms = r.i();
      u.key_seen = r.u() != 0;
      bl::load_recent(r, u.networks);
      users.emplace(k, std::move(u));
    }
    std::unordered_map<uint64_t, key_state> keys;
    for (uint64_t n = r.count(), j = 0; j < n; ++j) {
      uint64_t k = r.u();
      key_state s;
      s.first_ms = r.i();
      s.last_ms = r.i();
      s.wakeups = static_cast<uint32_t>(r.u());
      keys.emplace(k, s);
    }
    string_map<created_key> created;
    for (uint64_t n = r.count(), j = 0; j < n; ++j) {
      std::string k = r.s();
      created_key c;
      c.time_ms = r.i();
      c.event_id = r.s();
      c.creator = r.s();
      c.creator_user_key = r.s();
      c.creator_ip = r.s();
      c.creator_net = r.u();
      c.creator_ua = r.s();
      c.owner = r.s();
      c.account = r.s();
      created.emplace(std::move(k), std::move(c));
    }
    if (!r.done()) bl::reader::fail();
    accounts_ = std::move(accounts);
    last_account_ = nullptr;
    users_ = std::move(users);
    keys_ = std::move(keys);
    created_ = std::move(created);
  }

 private:
  struct account_state {
    int64_t first_ms = 0, last_ms = 0;
  };
  struct user_state {
    int64_t first_ms = 0, last_ms = 0;
    int64_t created_ms = INT64_MIN;      // CreateUser seen
    bool key_seen = false;               // a key of this user used, or created, before
    bl::recent_list<uint64_t> networks;  // (network key, last hour), LRU-capped
  };
  struct key_state {
    int64_t first_ms = 0, last_ms = 0;
    uint32_t wakeups = 0;  // times the key came back from dormancy
  };
  struct created_key {
    int64_t time_ms = 0;
    std::string event_id, creator, creator_user_key, creator_ip;
    uint64_t creator_net = 0;  // 0: creator's source unknown (console-internal, private, service)
    std::string creator_ua, owner, account;
  };

  static std::string user_key_text(std::string_view acct, std::string_view user) {
    return std::string(acct) + "|" + std::string(user);
  }
  // bl::hash64(user_key_text(acct, user)) without building the text (FNV-1a runs on).
  static uint64_t user_key_hash(std::string_view acct, std::string_view user) {
    return bl::hash64(user, bl::hash64("|", bl::hash64(acct)));
  }

  // The /24 (/48) network key of a public source address; 0 for anything else. Cached: users
  // call from few addresses, and a hit costs less than parsing the text again.
  uint64_t public_network(std::string_view source_ip) {
    if (const uint64_t* hit = networks_.find(source_ip)) return *hit;
    const uint64_t net = bl::public_network_key(source_ip);
    if (source_ip.size() <= 64) networks_.put(source_ip, net);  // addresses are short
    return net;
  }

  account_state& account(std::string_view name, int64_t t) {
    // Consecutive events mostly share an account: remember the last one (node pointers stay
    // valid across rehashing; every erase of accounts_ resets the cache).
    if (!last_account_ || !util::equals(last_account_name_, name)) {
      auto it = accounts_.find(name);
      if (it == accounts_.end())
        it = accounts_.emplace(std::string(name), account_state{t, t}).first;
      last_account_ = &it->second;
      last_account_name_.assign(name);
    }
    account_state& a = *last_account_;
    a.first_ms = std::min(a.first_ms, t);
    a.last_ms = std::max(a.last_ms, t);
    return a;
  }

  user_state& user(std::string_view acct, std::string_view name, int64_t t) {
    const uint64_t k = user_key_hash(acct, name);
    auto it = users_.find(k);
    if (it == users_.end()) {
      if (users_.size() >= max_users_) evict(users_);
      it = users_.emplace(k, user_state{}).first;
      it->second.first_ms = it->second.last_ms = t;
    }
    it->second.first_ms = std::min(it->second.first_ms, t);
    it->second.last_ms = std::max(it->second.last_ms, t);
    return it->second;
  }
  const user_state* find_user(std::string_view text_key) const {
    auto it = users_.find(bl::hash64(text_key));
    return it == users_.end() ? nullptr : &it->second;
  }

  // Forgets the least recently seen tenth of a map.
  template <class M>
  void evict(M& m) {
    const size_t removed = bl::evict_oldest_tenth(
        m, [](const auto& s) { return s.last_ms; }, bl::evict_ties::older_first);
    ctx().count("entries_evicted", static_cast<int64_t>(removed));
  }

  static bool has_net(const user_state* u, uint64_t net) {
    return u && net && bl::recent_contains(u->networks, net);
  }
  static void touch_net(user_state& u, uint64_t net, int64_t hour) {
    bl::recent_touch(u.networks, net, hour, kNetworksPerUser);
  }

  void add_caller(finding& f, const event& e) const {
    f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
    f.ev.add("eventName", e.name()).add("eventSource", e.source());
  }

  // --- CreateAccessKey -----------------------------------------------------------------------
  void on_create_key(const event& e, const account_state& acct, std::string_view acct_id) {
    value key = e.response()["accessKey"];
    std::string_view key_id = key["accessKeyId"].str();
    std::string_view owner = key["userName"].str();
    if (owner.empty()) owner = e.request()["userName"].str();
    if (owner.empty() && e.identity_type() == "IAMUser") owner = e.user_name();
    if (key_id.empty() || owner.empty()) return;  // root's own key: the root-account detector
    const int64_t t = e.time_ms();
    user_state& u = user(acct_id, owner, t);
    const bool had_key = u.key_seen;
    u.key_seen = true;
    const bool self = e.identity_type() == "IAMUser" && e.user_name() == owner;
    if (!had_key && t - acct.first_ms >= warmup_ms_ && !e.aws_service()) {
      finding f = make_finding("first-key-for-user", e);
      const bool onboarding = u.created_ms != INT64_MIN && t - u.created_ms <= 7 * bl::kDayMs;
      if (self || onboarding) f.sev = severity::low;
      f.summary = std::string(e.identity()) + " created access key " + std::string(key_id) +
                  " for IAM user " + std::string(owner) +
                  ", none of whose keys was seen in use since " + bl::iso_time(acct.first_ms) +
                  (onboarding ? " (the user was created recently)." : ".");
      f.ev.add("userName", owner).add("accessKeyId", key_id);
      f.ev.add("callerArn", e.principal_arn());
      f.ev.add_bool("selfCreated", self).add_bool("userCreatedRecently", onboarding);
      f.ev.add("observedSince", bl::iso_time(acct.first_ms));
      add_caller(f, e);
      f.dedup_key = std::string(key_id);
      emit(f);
    }
    if (e.aws_service()) return;  // CloudFormation & co. hand keys to applications elsewhere
    if (created_.size() >= kMaxCreated) return;
    created_key c;
    c.time_ms = t;
    c.event_id = std::string(e.id());
    c.creator = std::string(e.principal_arn().empty() ? e.identity() : e.principal_arn());
    if (e.identity_type() == "IAMUser") c.creator_user_key = user_key_text(acct_id, e.user_name());
    c.creator_ip = std::string(e.source_ip());
    c.creator_net = bl::public_network_key(e.source_ip());
    c.creator_ua = bl::classify_user_agent(e.user_agent()).family;
    c.owner = std::string(owner);
    c.account = std::string(acct_id);
    created_[std::string(key_id)] = std::move(c);
  }

  // --- key use -------------------------------------------------------------------------------
  void use_key(const event& e, std::string_view key, const user_state* owner, uint64_t net) {
    const int64_t t = e.time_ms();
    const uint64_t kh = bl::hash64(key);
    auto it = keys_.find(kh);
    if (it == keys_.end()) {
      if (keys_.size() >= max_keys_) evict(keys_);
      keys_.emplace(kh, key_state{t, t, 0});
    } else {
      key_state& ks = it->second;
      if (t - ks.last_ms >= dormancy_ms_) report_dormant(e, key, ks, owner, net);
      ks.last_ms = std::max(ks.last_ms, t);
      ks.first_ms = std::min(ks.first_ms, t);
    }
    auto c = created_.find(key);
    if (c != created_.end() && t - c->second.time_ms <= use_window_ms_ &&
        t >= c->second.time_ms - 5 * 60 * 1000) {
      if (check_new_key_use(e, key, c->second, owner, net)) created_.erase(c);
    }
  }

  void report_dormant(const event& e, std::string_view key, key_state& ks, const user_state* owner,
                      uint64_t net) {
    const int64_t idle_days = (e.time_ms() - ks.last_ms) / bl::kDayMs;
    finding f = make_finding("dormant-key-used", e);
    const bool new_source = net && owner && !has_net(owner, net);
    if (ks.wakeups > 0) {
      f.sev = severity::low;  // it sleeps and wakes regularly: a periodic job
    } else if (new_source) {
      f.sev = severity::high;
    }
    const bool trusted = ctx().trusted_cidrs_known() && ctx().is_trusted_ip(e.source_ip());
    if (trusted && f.sev > severity::low) f.sev = lower(f.sev);
    ++ks.wakeups;
    f.summary = "Access key " + std::string(key) + " of " + std::string(e.principal_arn()) +
                ", unused for " + std::to_string(idle_days) + " days (last used " +
                bl::iso_time(ks.last_ms) + "), was used again" +
                (new_source ? " from a network its owner never used." : ".");
    f.ev.add("accessKeyId", key).add("userName", e.user_name());
    f.ev.add("idleDays", idle_days).add("lastUsed", bl::iso_time(ks.last_ms));
    f.ev.add("firstSeen", bl::iso_time(ks.first_ms));
    f.ev.add_bool("newSourceNetwork", new_source);
    f.ev.add("previousWakeups", static_cast<int64_t>(ks.wakeups - 1));
    if (trusted) f.ev.add_bool("trustedSource", true);
    add_caller(f, e);
    f.dedup_key = std::string(key) + "|" + std::to_string(e.time_ms());
    emit(f);
  }

  // True when the created key is settled (reported, or judged benign for good).
  bool check_new_key_use(const event& e, std::string_view key, const created_key& c,
                         const user_state* owner, uint64_t net) {
    if (!net) return false;  // a private / internal source says nothing: wait for the next use
    if (ctx().trusted_cidrs_known() && ctx().is_trusted_ip(e.source_ip())) return false;
    const std::string use_ua = bl::classify_user_agent(e.user_agent()).family;
    finding f = make_finding("new-key-used-from-elsewhere", e);
    if (net == c.creator_net) {
      // Same network: the creator itself (rotation, CI). A different client family from a
      // programmatic creator is worth a low note; console -> CLI is the normal workflow.
      if (use_ua == c.creator_ua || c.creator_ua == "console" || c.creator_ua.empty() ||
          use_ua.empty())
        return false;
      f.sev = severity::low;
    } else {
      if (has_net(owner, net)) return false;  // the owner's usual network (home, office)
      if (!c.creator_user_key.empty() && has_net(find_user(c.creator_user_key), net))
        return false;  // the creating admin trying the key from a network they use
      if (!c.creator_net) f.sev = severity::medium;        // where the creator was is unknown
      if (iac_family(c.creator_ua)) f.sev = lower(f.sev);  // IaC hands keys to applications
      // Before the account's warm-up ends, its users' usual networks (home, second office) are
      // not known yet: "another network" is weaker evidence.
      auto acct = accounts_.find(std::string_view(c.account));
      if (acct != accounts_.end() && e.time_ms() - acct->second.first_ms < warmup_ms_) {
        f.sev = lower(f.sev);
        f.ev.add_bool("duringWarmup", true);
      }
    }
    const int64_t minutes = (e.time_ms() - c.time_ms) / 60000;
    f.summary = "Access key " + std::string(key) + " of IAM user " + c.owner + ", created by " +
                c.creator + " from " + c.creator_ip + ", was used " + std::to_string(minutes) +
                " minute(s) later from " + std::string(e.source_ip()) +
                (net == c.creator_net ? " (same network, another client)." : ", another network.");
    f.with_event(c.event_id, "CreateAccessKey", c.time_ms);
    f.ev.add("accessKeyId", key).add("userName", c.owner);
    f.ev.add("createdBy", c.creator).add("createdAt", bl::iso_time(c.time_ms));
    f.ev.add("creatorSourceIPAddress", c.creator_ip).add("creatorUserAgentFamily", c.creator_ua);
    f.ev.add("userAgentFamily", use_ua).add("minutesAfterCreation", minutes);
    f.ev.add_bool("sameNetworkAsCreator", net == c.creator_net);
    if (iac_family(c.creator_ua)) f.ev.add_bool("createdByInfrastructureAsCode", true);
    add_caller(f, e);
    f.dedup_key = std::string(key);
    emit(f);
    return true;
  }

  int64_t use_window_ms_, dormancy_ms_, warmup_ms_, retention_ms_;
  size_t max_keys_, max_users_;

  string_map<account_state> accounts_;
  account_state* last_account_ = nullptr;  // account(): the last account looked up
  std::string last_account_name_;
  std::unordered_map<uint64_t, user_state> users_;  // hash(account|userName)
  std::unordered_map<uint64_t, key_state> keys_;    // hash(access key id)
  string_map<created_key> created_;                 // keys created within use_window
  util::lookup_cache<uint64_t> networks_;           // source address -> public_network()
  int64_t last_ageing_ms_ = INT64_MIN / 2;
};

}  // namespace

TRAILHOUND_MODULE("key-lifecycle", "1.0.0", key_lifecycle)
