-- Item-total correlations (issue 16): per (unit, period, item) the responses counted with
-- their construct score and the sum of item value x construct score (0-100). Cells counted
-- before this migration keep n_xt < n and are left out of the item-total correlations.
ALTER TABLE agg_item ADD COLUMN n_xt bigint NOT NULL DEFAULT 0;
ALTER TABLE agg_item ADD COLUMN sum_xt double precision NOT NULL DEFAULT 0;
