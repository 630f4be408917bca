//! The channel flows and streaming configurations of a state document (`docs/behaviour.md`, "State
//! and seeds"): their export, their checks and their insertion. A channel names the flow it is
//! associated with, which must be one of its AppInstance's in the document.

use super::{CHECK_TOKEN, Counts, PAGE, all, check_shape, check_tag_list, fault, store_tags, tags_of, timestamps};
use crate::arn::{self, Resource};
use crate::failure::TxResult;
use crate::messaging::{flows, streaming};
use carillon_api::messaging::shapes::*;
use carillon_api::model::Model;
use carillon_api::shapes::Tag;
use carillon_api::{ApiError, Timestamp, printable};
use carillon_store::{ChannelFlowRecord, StreamingConfigRecord, Tx};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// A channel flow with everything the store keeps of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ChannelFlowState {
    pub channel_flow_arn: String,
    pub name: String,
    pub processors: Vec<Processor>,
    pub created_timestamp: Timestamp,
    pub last_updated_timestamp: Timestamp,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// An AppInstance's checked flows and streaming configurations, as the store takes them.
#[derive(Debug, Default)]
pub(crate) struct PlannedFlows {
    pub(crate) flows: Vec<(ChannelFlowRecord, Vec<carillon_store::Tag>)>,
    pub(crate) streaming: Vec<StreamingConfigRecord>,
}

/// The AppInstance's flows in creation order.
pub(super) fn export_flows(tx: &mut dyn Tx, instance: &str) -> TxResult<Vec<ChannelFlowState>> {
    let records = all(|after| Ok(tx.list_channel_flows(instance, after, PAGE)?), |f| f.seq)?;
    let mut out = Vec::with_capacity(records.len());
    for f in records {
        let processors: Vec<Processor> = serde_json::from_str(&f.processors).map_err(|e| {
            ApiError::internal("The service failed to process the request.").with_cause(format!("stored flow processors: {e}"))
        })?;
        out.push(ChannelFlowState {
            tags: tags_of(tx, &f.arn)?,
            channel_flow_arn: f.arn,
            name: f.name,
            processors,
            created_timestamp: Timestamp(f.created_ms),
            last_updated_timestamp: Timestamp(f.updated_ms),
        });
    }
    Ok(out)
}

/// The AppInstance's streaming configurations.
pub(super) fn export_streaming(tx: &mut dyn Tx, instance: &str) -> TxResult<Vec<StreamingConfiguration>> {
    let configs = tx.get_streaming_configurations(instance)?;
    Ok(configs.into_iter().map(|c| StreamingConfiguration { data_type: c.data_type, resource_arn: c.resource_arn }).collect())
}

/// Checks the AppInstance's flows and streaming configurations as Create and Put would, with the
/// ARNs unique across the document. Returns the plan and the flow ARNs, which its channels may name.
pub(super) fn check(
    model: &Model,
    at: &str,
    instance: &str,
    flow_states: Vec<ChannelFlowState>,
    streaming_configs: Vec<StreamingConfiguration>,
    arns: &mut HashSet<String>,
) -> Result<(PlannedFlows, HashSet<String>), ApiError> {
    let mut plan = PlannedFlows::default();
    let mut flow_arns = HashSet::new();
    for (i, f) in flow_states.into_iter().enumerate() {
        let at = format!("{at}.ChannelFlows[{i}]");
        match arn::resource(&f.channel_flow_arn) {
            Some(Resource::ChannelFlow { app_instance_arn, .. }) if app_instance_arn == instance => {}
            _ => {
                let shown = printable(&f.channel_flow_arn);
                return Err(fault(&at, format!("ChannelFlowArn {shown:?} is not a channel flow ARN of its AppInstance")));
            }
        }
        if !arns.insert(f.channel_flow_arn.clone()) {
            return Err(fault(&at, format!("ChannelFlowArn {} appears twice", f.channel_flow_arn)));
        }
        let request = CreateChannelFlowRequest {
            app_instance_arn: instance.to_string(),
            processors: f.processors.clone(),
            name: f.name.clone(),
            tags: None,
            client_request_token: CHECK_TOKEN.into(),
        };
        check_shape(model, &at, "CreateChannelFlowRequest", &request)?;
        flows::check_processors(&f.processors).map_err(|e| fault(&at, e.message))?;
        check_tag_list(&at, &f.tags)?;
        let (created_ms, updated_ms) = timestamps(&at, f.created_timestamp, f.last_updated_timestamp)?;
        let processors = serde_json::to_string(&f.processors).map_err(|e| fault(&at, e))?;
        flow_arns.insert(f.channel_flow_arn.clone());
        let record = ChannelFlowRecord {
            seq: 0,
            arn: f.channel_flow_arn,
            app_instance_arn: instance.to_string(),
            name: f.name,
            processors,
            created_ms,
            updated_ms,
        };
        plan.flows.push((record, store_tags(f.tags)));
    }
    if !streaming_configs.is_empty() {
        let at = format!("{at}.StreamingConfigurations");
        let request = PutMessagingStreamingConfigurationsRequest {
            app_instance_arn: instance.to_string(),
            streaming_configurations: streaming_configs.clone(),
        };
        check_shape(model, &at, "PutMessagingStreamingConfigurationsRequest", &request)?;
        streaming::check_configs(&streaming_configs).map_err(|e| fault(&at, e.message))?;
        plan.streaming =
            streaming_configs.into_iter().map(|c| StreamingConfigRecord { data_type: c.data_type, resource_arn: c.resource_arn }).collect();
    }
    Ok((plan, flow_arns))
}

/// Inserts the AppInstance's flows (before its channels, which may name them) and streaming
/// configurations.
pub(super) fn insert(tx: &mut dyn Tx, instance: &str, p: &PlannedFlows, only_missing: bool, n: &mut Counts) -> TxResult<()> {
    for (f, tags) in &p.flows {
        if !only_missing || tx.get_channel_flow(&f.arn)?.is_none() {
            tx.insert_channel_flow(f)?;
            tx.put_tags(&f.arn, instance, tags)?;
            n.channel_flows += 1;
        }
    }
    if !p.streaming.is_empty() && (!only_missing || tx.get_streaming_configurations(instance)?.is_empty()) {
        tx.put_streaming_configurations(instance, &p.streaming)?;
        n.streaming_configurations += p.streaming.len() as u64;
    }
    Ok(())
}
