//! The async forms of the SDK's calls: `suspend` in Kotlin, `async` in
//! Swift. Each runs its blocking twin on Anxin's own worker threads
//! ([`crate::worker`]) and completes the foreign future when it is done:
//! the thread that awaits (an app's main thread) never blocks, never
//! touches SQLite, and reads do not queue behind a sync's writes.
//!
//! Generated from the blocking signatures by `async_twins!`: one line per
//! call, so the two forms cannot drift apart.

use std::sync::Arc;

use crate::error::Result;
use crate::groups::{Admin, Cases, Households, Orders, Screening, Sync};
use crate::records::*;
use crate::session::SyncSessionHandle;
use crate::setup::*;
use crate::{AnxinStore, Questionnaire};

/// Declares, for each blocking method, an async twin that runs it on the
/// read or write worker.
macro_rules! async_twins {
    ($ty:ident { $( $(#[$doc:meta])* $pool:ident fn $async_name:ident = $name:ident ( $($arg:ident : $argty:ty),* ) -> $ret:ty; )* }) => {
        #[uniffi::export]
        impl $ty {
            $(
                $(#[$doc])*
                pub async fn $async_name(self: Arc<Self>, $($arg: $argty),*) -> $ret {
                    crate::worker::$pool(move || self.$name($($arg),*)).await
                }
            )*
        }
    };
}

async_twins! {
    AnxinStore {
        /// [`AnxinStore::act_as`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn act_as_async = act_as(worker_id: String) -> Result<()>;
        /// [`AnxinStore::grids`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn grids_async = grids() -> Result<Vec<GridInfo>>;
        /// [`AnxinStore::workers`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn workers_async = workers(grid_id: Option<String>, role: Option<WorkerRole>) -> Result<Vec<WorkerInfo>>;
        /// [`AnxinStore::wipe`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn wipe_async = wipe() -> Result<()>;
    }
}

async_twins! {
    Households {
        /// [`Households::add`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn add_async = add(grid_id: String, address: AddressInput) -> Result<String>;
        /// [`Households::add_resident`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn add_resident_async = add_resident(household_id: String, resident: ResidentInput) -> Result<String>;
        /// [`Households::record_visit`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn record_visit_async = record_visit(household_id: String, needs: Vec<NeedInput>, notes: String) -> Result<String>;
        /// [`Households::list`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn list_async = list(grid_id: String, limit: u32, offset: u32) -> Result<Vec<HouseholdInfo>>;
        /// [`Households::residents`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn residents_async = residents(household_id: String) -> Result<Vec<ResidentInfo>>;
        /// [`Households::set_resident_tag`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn set_resident_tag_async = set_resident_tag(household_id: String, resident_id: String, tag: String, present: bool) -> Result<()>;
        /// [`Households::residents_with_tag`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn residents_with_tag_async = residents_with_tag(tag: String, grid_id: Option<String>) -> Result<Vec<TaggedResident>>;
        /// [`Households::move_household`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn move_household_async = move_household(household_id: String, to_grid_id: String) -> Result<()>;
        /// [`Households::update_resident`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn update_resident_async = update_resident(household_id: String, resident_id: String, changes: ResidentChanges) -> Result<()>;
    }
}

async_twins! {
    Screening {
        /// [`Screening::instruments`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn instruments_async = instruments() -> Result<Vec<InstrumentInfo>>;
        /// [`Screening::load_licensed_texts`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn load_licensed_texts_async = load_licensed_texts(file_name: String, json: String) -> Result<Vec<InstrumentInfo>>;
        /// [`Screening::start`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn start_async = start(instrument: String, language: Language, household_id: String, resident_id: String, convention: Option<String>) -> Result<Arc<Questionnaire>>;
        /// [`Screening::record`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn record_async = record(questionnaires: Vec<Arc<Questionnaire>>, cutoffs: Option<CutoffSet>) -> Result<RecordedScreening>;
        /// [`Screening::drafts`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn drafts_async = drafts() -> Result<Vec<DraftInfo>>;
        /// [`Screening::resume`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn resume_async = resume(draft_id: String) -> Result<Arc<Questionnaire>>;
    }
}

async_twins! {
    Cases {
        /// [`Cases::open_crisis`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn open_crisis_async = open_crisis(household_id: String, resident_id: String, reason: String) -> Result<CrisisRef>;
        /// [`Cases::crisis_action`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn crisis_action_async = crisis_action(crisis: CrisisRef, step: CrisisStepKind, note: String) -> Result<CaseInfo>;
        /// [`Cases::close_crisis`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn close_crisis_async = close_crisis(crisis: CrisisRef, tier_after: RiskTier, note: String) -> Result<CaseInfo>;
        /// [`Cases::review`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn review_async = review(case_id: String, screening_id: String, tier: RiskTier, reason: String) -> Result<CaseInfo>;
        /// [`Cases::refer`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn refer_async = refer(case_id: String, tier: RiskTier, to: String, reason: String) -> Result<String>;
        /// [`Cases::update_referral`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn update_referral_async = update_referral(case_id: String, referral_id: String, status: ReferralState, note: String) -> Result<CaseInfo>;
        /// [`Cases::record_visit`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn record_visit_async = record_visit(case_id: String, minutes: u32, note: String) -> Result<CaseInfo>;
        /// [`Cases::add_note`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn add_note_async = add_note(case_id: String, text: String) -> Result<CaseInfo>;
        /// [`Cases::assign`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn assign_async = assign(case_id: String, worker_id: String) -> Result<CaseInfo>;
        /// [`Cases::info`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn info_async = info(case_id: String) -> Result<CaseInfo>;
        /// [`Cases::list`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn list_async = list(household_id: Option<String>) -> Result<Vec<CaseSummary>>;
        /// [`Cases::due`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn due_async = due(worker_id: Option<String>, days: u32) -> Result<Vec<DueItem>>;
    }
}

async_twins! {
    Orders {
        /// [`Orders::create`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn create_async = create(order: OrderInput) -> Result<String>;
        /// [`Orders::act`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn act_async = act(order_id: String, action: OrderStep) -> Result<OrderInfo>;
        /// [`Orders::suggest_workers`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn suggest_workers_async = suggest_workers(order_id: String, limit: u32) -> Result<Vec<WorkerSuggestion>>;
        /// [`Orders::conflicts`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn conflicts_async = conflicts(worker_id: Option<String>) -> Result<Vec<OrderConflict>>;
        /// [`Orders::my_tasks`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn my_tasks_async = my_tasks() -> Result<Vec<QueueItem>>;
        /// [`Orders::dispatch_queue`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn dispatch_queue_async = dispatch_queue(grid_id: Option<String>) -> Result<Vec<QueueItem>>;
        /// [`Orders::details`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn details_async = details(order_id: String) -> Result<OrderDetails>;
        /// [`Orders::hours`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn hours_async = hours(worker_id: Option<String>, from: Option<i64>, to: Option<i64>) -> Result<Vec<HoursInfo>>;
        /// [`Orders::hours_entries`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn hours_entries_async = hours_entries(worker_id: String) -> Result<Vec<HoursEntryInfo>>;
        /// [`Orders::acknowledge_hours`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn acknowledge_hours_async = acknowledge_hours(worker_id: String, entry_id: String) -> Result<()>;
        /// [`Orders::acknowledge_hours_as_resident`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn acknowledge_hours_as_resident_async = acknowledge_hours_as_resident(resident_id: String, worker_id: String, entry_id: String) -> Result<()>;
    }
}

async_twins! {
    Sync {
        /// [`Sync::export_bundle`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn export_bundle_async = export_bundle(scopes: Vec<String>) -> Result<Vec<u8>>;
        /// [`Sync::import_bundle`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn import_bundle_async = import_bundle(bytes: Vec<u8>) -> Result<BundleImport>;
    }
}

async_twins! {
    Admin {
        /// [`Admin::init_station`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn init_station_async = init_station(name: String) -> Result<String>;
        /// [`Admin::report_json`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn report_json_async = report_json() -> Result<String>;
        /// [`Admin::export_json`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn export_json_async = export_json() -> Result<String>;
        /// [`Admin::check`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn check_async = check() -> Result<bool>;
        /// [`Admin::add_first_admin`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn add_first_admin_async = add_first_admin(name: String, phone: String) -> Result<String>;
        /// [`Admin::add_community`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn add_community_async = add_community(name: String) -> Result<String>;
        /// [`Admin::add_grid`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn add_grid_async = add_grid(community_id: String, name: String) -> Result<String>;
        /// [`Admin::rename_grid`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn rename_grid_async = rename_grid(grid_id: String, name: String) -> Result<()>;
        /// [`Admin::retire_grid`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn retire_grid_async = retire_grid(grid_id: String) -> Result<()>;
        /// [`Admin::add_worker`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn add_worker_async = add_worker(worker: WorkerInput) -> Result<String>;
        /// [`Admin::update_worker`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn update_worker_async = update_worker(worker_id: String, changes: WorkerChanges) -> Result<()>;
        /// [`Admin::set_worker_role`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn set_worker_role_async = set_worker_role(worker_id: String, role: WorkerRole) -> Result<()>;
        /// [`Admin::deactivate_worker`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn deactivate_worker_async = deactivate_worker(worker_id: String) -> Result<()>;
        /// [`Admin::assign_to_grid`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn assign_to_grid_async = assign_to_grid(grid_id: String, worker_id: String, lead: bool) -> Result<()>;
        /// [`Admin::unassign_from_grid`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn unassign_from_grid_async = unassign_from_grid(grid_id: String, worker_id: String) -> Result<()>;
        /// [`Admin::roster`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn roster_async = roster(grid_id: String) -> Result<Vec<RosterEntry>>;
        /// [`Admin::set_contact_card`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn set_contact_card_async = set_contact_card(grid_id: String, card: ContactCardInfo) -> Result<()>;
        /// [`Admin::contact_card`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn contact_card_async = contact_card(grid_id: String) -> Result<ContactCardInfo>;
        /// [`Admin::add_training`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn add_training_async = add_training(worker_id: String, training: TrainingInput) -> Result<String>;
        /// [`Admin::add_activity`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn add_activity_async = add_activity(activity: ActivityInput) -> Result<String>;
        /// [`Admin::record_attendance`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn record_attendance_async = record_attendance(activity_id: String, person_id: String, resident: bool, present: bool) -> Result<()>;
        /// [`Admin::credit_activity_hours`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn credit_activity_hours_async = credit_activity_hours(activity_id: String) -> Result<u32>;
        /// [`Admin::activities`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn activities_async = activities(grid_id: Option<String>, from: i64, to: i64) -> Result<Vec<ActivityInfo>>;
        /// [`Admin::enrol_device`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn enrol_device_async = enrol_device(worker_id: String, scopes: Option<Vec<String>>, code_minutes: u32, credential_days: u32) -> Result<String>;
        /// [`Admin::devices`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        read fn devices_async = devices() -> Result<Vec<crate::records::DeviceInfo>>;
        /// [`Admin::revoke_device`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn revoke_device_async = revoke_device(device_id: String) -> Result<()>;
        /// [`Admin::renew_device`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn renew_device_async = renew_device(device_id: String, days: u32) -> Result<i64>;
        /// [`Admin::issue_identity`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn issue_identity_async = issue_identity(worker_id: String, days: u32, passphrase: String) -> Result<Vec<u8>>;
        /// [`Admin::sign_as`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn sign_as_async = sign_as(identity: Vec<u8>, passphrase: String) -> Result<()>;
        /// [`Admin::sign_as_device`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn sign_as_device_async = sign_as_device() -> Result<()>;
    }
}

async_twins! {
    Questionnaire {
        /// [`Questionnaire::answer`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn answer_async = answer(item_id: String, value: i32) -> Result<AnswerResult>;
        /// [`Questionnaire::decline`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn decline_async = decline(item_id: String) -> Result<Option<ItemPrompt>>;
        /// [`Questionnaire::discard`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn discard_async = discard() -> Result<()>;
    }
}

async_twins! {
    SyncSessionHandle {
        /// [`SyncSessionHandle::start`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn start_async = start() -> Result<Vec<Vec<u8>>>;
        /// [`SyncSessionHandle::receive`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn receive_async = receive(frame: Vec<u8>) -> Result<Vec<Vec<u8>>>;
    }
}

#[cfg(feature = "fixture")]
async_twins! {
    Admin {
        /// [`Admin::load_fixture`] on Anxin's worker: suspends (Kotlin) or awaits (Swift)
        /// instead of blocking the calling thread.
        write fn load_fixture_async = load_fixture(households: u32, seed: u64) -> Result<()>;
    }
}
