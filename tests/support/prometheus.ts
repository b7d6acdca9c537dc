/**
 * A model of how Prometheus labels the series it stores, written from prometheus/prometheus v3.14.0, so that tests of
 * this project's scrape configuration and rules derive their expectations from upstream behaviour:
 *
 * - relabelling (model/relabel/relabel.go): action `replace` by default, source values joined with `;`, the regex
 *   (default `(.*)`) anchored, `$1`-style replacement (default `$1`), an empty result deletes the target label;
 * - scraped samples (scrape/scrape.go `mutateSampleLabels`): target labels merged (with `honor_labels` the scraped
 *   value wins a conflict, without it the scraped one moves to `exported_<name>`), then `metric_relabel_configs`;
 * - the series written about each scrape, such as `up` (`mutateReportSampleLabels`): target labels only;
 * - federation (web/federate.go): external labels attached to each series that lacks them;
 * - selectors: an equality matcher against an empty value also matches series without the label.
 */

export type Labels = Record<string, string>;

export interface RelabelConfig {
    readonly source_labels?: readonly string[];
    readonly separator?: string;
    readonly regex?: string;
    readonly target_label?: string;
    readonly replacement?: string;
    readonly action?: string;
}

export function relabel(labels: Labels, configs: readonly RelabelConfig[]): Labels {
    const out = { ...labels };
    for (const c of configs) {
        if ((c.action ?? "replace") !== "replace") throw new Error(`the model knows only the replace action, not ${c.action}`);
        const value = (c.source_labels ?? []).map((l) => out[l] ?? "").join(c.separator ?? ";");
        const match = new RegExp(`^(?:${c.regex ?? "(.*)"})$`).exec(value);
        if (!match || !c.target_label) continue;
        const result = (c.replacement ?? "$1").replace(/\$\{?(\d+)\}?/g, (_, i) => match[Number(i)] ?? "");
        if (result === "") delete out[c.target_label];
        else out[c.target_label] = result;
    }
    return out;
}

export interface ScrapeJob {
    readonly honorLabels: boolean;
    readonly metricRelabelConfigs: readonly RelabelConfig[];
}

/** A sample as stored, from the target's labels and the labels the target exposed. */
export function scrapedSample(target: Labels, exposed: Labels, job: ScrapeJob): Labels {
    const merged = { ...exposed };
    for (const [name, value] of Object.entries(target)) {
        if (job.honorLabels) {
            if (!(name in exposed)) merged[name] = value;
        } else {
            if (exposed[name]) merged[`exported_${name}`] = exposed[name];
            merged[name] = value;
        }
    }
    return relabel(merged, job.metricRelabelConfigs);
}

/** The `up` series of a target. */
export function upSeries(target: Labels): Labels {
    return { __name__: "up", ...target };
}

/** A series as another Prometheus receives it from `/federate`. */
export function federated(series: Labels, externalLabels: Labels): Labels {
    return { ...Object.fromEntries(Object.entries(externalLabels).filter(([name]) => !(name in series))), ...series };
}

/** Whether `series` matches the matchers of a selector such as `up{cluster="",app=~"istiod|x"}`. */
export function selects(selector: string, series: Labels): boolean {
    const m = /^([a-zA-Z_:][\w:]*)?\{(.*)\}$/.exec(selector.trim());
    if (!m) throw new Error(`not a selector: ${selector}`);
    if (m[1] && series.__name__ !== m[1]) return false;
    return [...m[2].matchAll(/([a-zA-Z_]\w*)\s*(=~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].every(([, name, op, value]) => {
        const have = series[name] ?? "";
        if (op === "=") return have === value;
        if (op === "!=") return have !== value;
        return new RegExp(`^(?:${value})$`).test(have);
    });
}
